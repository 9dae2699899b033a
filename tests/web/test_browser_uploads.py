"""The page with uploads on (`serve --allow-uploads`), in headless Chromium at a phone's width and a laptop's
(issue 27, item 7): no sideways scroll, even with a long document name in the remove selector; adding a
document says "Added NAME" once it is answerable and removing one says "Removed NAME", both without a
reload, so the conversation stays; axe finds nothing serious or critical. Every wait is for a condition.
"""

from __future__ import annotations

import pytest

from .test_browser import CITED, ask, browser, open_page, serious  # noqa: F401 (browser: the fixture)
from .test_upload_api import serve_page

pytestmark = pytest.mark.browser

LONG = "Quarterly harbour inspection report for the northern district fishing fleet 2026.txt"
STORED = "Quarterly-harbour-inspection-report-for-the-northern-district-fishing-fleet-2026.txt"
DOCS = "() => [...document.querySelectorAll('.vb-docfile')].map(e => e.textContent)"
OPTIONS = "() => [...document.querySelectorAll('#vb-remove-doc option')].map(o => o.value)"
STATUS = "document.getElementById('vb-upload-status').textContent"


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 900)])
def test_add_and_remove_confirm_keep_the_conversation_and_fit_the_width(browser, tmp_path,  # noqa: F811
                                                                        width, height):
    url, app, corpus = serve_page(tmp_path, True)
    path = tmp_path / LONG
    path.write_text("The harbour inspection counted 47 fishing boats with broken radios.\n", encoding="utf-8")
    try:
        page, problems = open_page(browser, url + "/", width, height)
        page.wait_for_function(f"({OPTIONS})().length === 2")
        assert page.evaluate("document.documentElement.scrollWidth") == width
        assert serious(page) == []  # a fresh page: the example questions and the upload panel

        ask(page, CITED, 1)
        page.evaluate("window.vbNotReloaded = true")
        page.set_input_files("#vb-upload-file", str(path))
        page.locator("#vb-upload-add").click()
        page.wait_for_function(f"{STATUS} === 'Added {STORED}'", timeout=60_000)
        page.wait_for_function(f"({DOCS})().includes('{STORED}')")  # the documents panel is redrawn
        assert page.evaluate(OPTIONS) == [STORED, "notes/hostile.md", "prisons.txt"]  # as /documents lists them
        assert page.evaluate("window.vbNotReloaded") is True
        assert page.locator("#vb-chat .vb-answer").count() == 1  # the conversation stays
        assert page.evaluate("document.documentElement.scrollWidth") == width  # the long name fits
        assert serious(page) == []

        page.select_option("#vb-remove-doc", STORED)
        page.locator("#vb-remove").click()
        page.wait_for_function(f"{STATUS} === 'Removed {STORED}'", timeout=60_000)
        page.wait_for_function(f"!({DOCS})().includes('{STORED}') && ({DOCS})().length === 2")
        assert page.evaluate(OPTIONS) == ["notes/hostile.md", "prisons.txt"]
        assert page.evaluate("window.vbNotReloaded") is True
        assert page.locator("#vb-chat .vb-answer").count() == 1
        assert not (corpus / STORED).exists()
        assert page.evaluate("document.documentElement.scrollWidth") == width
        assert problems == []
        page.screenshot(path=str(tmp_path / f"uploads-{width}.png"), full_page=True)
        page.close()
    finally:
        app.close()
