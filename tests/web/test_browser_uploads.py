"""The index changing under an open page, in headless Chromium (helpers in tests/web/pages.py, fixtures in
tests/web/conftest.py): the page follows a rebuild of the index; with uploads on (`serve --allow-uploads`)
and a token, it asks for the token, shows a progress bar while a PDF is indexed, answers from it and removes
it again; at a phone's width and a laptop's (issue 27, item 7) there is no sideways scroll, even with a long
document name in the remove selector, adding a document says "Added NAME" once it is answerable and removing
one says "Removed NAME", both without a reload, so the conversation stays; axe finds nothing serious or
critical. Every wait is for a condition.
"""

from __future__ import annotations

import pytest

from .pages import CITED, ask, open_page, serious
from .test_chat import EXAMPLES, VISITS, start, write_corpus
from .test_upload_api import serve_page

pytestmark = pytest.mark.browser

LONG = "Quarterly harbour inspection report for the northern district fishing fleet 2026.txt"
STORED = "Quarterly-harbour-inspection-report-for-the-northern-district-fishing-fleet-2026.txt"
DOCS = "() => [...document.querySelectorAll('.vb-docfile')].map(e => e.textContent)"
OPTIONS = "() => [...document.querySelectorAll('#vb-remove-doc option')].map(o => o.value)"
STATUS = "document.getElementById('vb-upload-status').textContent"


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 900)])
def test_add_and_remove_confirm_keep_the_conversation_and_fit_the_width(browser, tmp_path, width, height):
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


def test_page_follows_a_rebuild_of_the_index(browser, tmp_path):
    from app.answer.assistant import Assistant
    from app.index.build import build_index
    from app.index.embed import HashEmbedder
    from app.settings import AnswerSettings
    from app.web.chat import build_app
    from app.web.live import LiveAssistant

    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    first = Assistant.load(index, embedder=HashEmbedder(), settings=AnswerSettings(threshold=0.3), corpus_dir=corpus)
    app = build_app(LiveAssistant(first, index, corpus), tmp_path / "feedback.jsonl")
    url = start(app)
    docs = "() => [...document.querySelectorAll('.vb-docfile')].map(e => e.textContent).join(' ')"
    try:
        page, problems = open_page(browser, url, 1280, 900)
        # the documents panel is filled by the page's load event, which may land after the examples
        page.wait_for_function(f"({docs})() !== ''", timeout=10_000)
        assert page.evaluate(docs) == "notes/hostile.md prisons.txt"
        (corpus / "visits.txt").write_text(VISITS, encoding="utf-8")
        build_index(index, HashEmbedder(), corpus_dir=corpus)  # swapped in while the page is open

        ask(page, EXAMPLES[1], 1)  # the open page follows after its next answer
        page.wait_for_function(f"({docs})() === 'notes/hostile.md prisons.txt visits.txt'", timeout=10_000)
        assert page.locator("#vb-docs-panel").get_by_text("Documents in the index (3)").is_visible()
        assert page.locator(".vb-report").inner_text() == ("3 documents: Hostile Test Notes; Prison Conditions "
                                                           "Review; Prison Visits Log")

        fresh, _ = open_page(browser, url, 1280, 900)  # a page opened now shows the new build
        fresh.wait_for_function(f"({docs})() === 'notes/hostile.md prisons.txt visits.txt'", timeout=10_000)
        fresh.wait_for_function("document.querySelectorAll('#vb-chat button.example')[1].innerText"
                                ".startsWith('Who paid')", timeout=10_000)
        assert fresh.locator("#vb-chat button.example").all_inner_texts()[:3] == [
            "Briefing", "Who paid for the lawyers of the prisoners?", "What is this report about?"]
        fresh.locator("#vb-docs-filter input").click()
        fresh.get_by_role("option", name="Prison Visits Log (visits.txt)").click()
        ask(fresh, "Who paid for the lawyers?", 1)
        assert {s.inner_text() for s in fresh.locator("#vb-chat .vb-source .vb-doc").all()} == {"visits.txt"}
        assert problems == []
        fresh.screenshot(path=str(tmp_path / "rebuilt.png"))
    finally:
        app.close()


def test_upload_watch_progress_ask_and_remove(browser, tmp_path):
    """serve --allow-uploads with a token: the page asks for it, uploads a PDF with a progress bar,
    answers from it once indexed, and removes it again."""
    from app.answer.assistant import Assistant
    from app.index.build import build_index
    from app.index.embed import HashEmbedder
    from app.settings import AnswerSettings
    from app.web.chat import build_app
    from app.web.live import LiveAssistant
    from app.web.uploads import Shelf, UploadRoutes

    from .test_uploads import make_pdf

    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    first = Assistant.load(index, embedder=HashEmbedder(), settings=AnswerSettings(threshold=0.3), corpus_dir=corpus)
    app = build_app(LiveAssistant(first, index, corpus), tmp_path / "feedback.jsonl",
                    uploads=UploadRoutes(Shelf(corpus, index, HashEmbedder().name), "let-me-in"))
    url = start(app)
    pdf = tmp_path / "Harbour report.pdf"
    pdf.write_bytes(make_pdf("The harbour inspection counted 47 fishing boats with broken radios."))
    docs = "() => [...document.querySelectorAll('.vb-docfile')].map(e => e.textContent).join(' ')"
    try:
        page, problems = open_page(browser, url, 1280, 900)
        page.wait_for_function(f"({docs})() !== ''", timeout=10_000)
        assert page.locator("#vb-upload-token").is_visible()  # off loopback the token is asked for
        page.set_input_files("#vb-upload-file", str(pdf))
        page.locator("#vb-upload-add").click()  # no token yet: refused, nothing stored
        page.wait_for_function("document.getElementById('vb-upload-status').textContent.startsWith('Not added')")
        assert "upload token" in page.locator("#vb-upload-status").inner_text()
        assert not (corpus / "Harbour-report.pdf").exists()

        page.fill("#vb-upload-token", "let-me-in")
        page.locator("#vb-upload-add").click()
        page.wait_for_selector("#vb-upload-progress:not([hidden])")  # the bar shows while it is indexed
        page.wait_for_function(f"({docs})().includes('Harbour-report.pdf')", timeout=60_000)  # redrawn
        page.wait_for_selector("#vb-chat button.example")
        ask(page, "How many fishing boats had broken radios?", 1)
        answer = page.locator("#vb-chat .vb-answer").last.inner_text()
        assert "47 fishing boats with broken radios" in answer and "Harbour-report.pdf" in answer

        page.fill("#vb-upload-token", "let-me-in")
        page.wait_for_function("[...document.querySelectorAll('#vb-remove-doc option')]"
                               ".some(o => o.value === 'Harbour-report.pdf')")
        page.select_option("#vb-remove-doc", "Harbour-report.pdf")
        page.locator("#vb-remove").click()
        page.wait_for_function(f"({docs})() !== '' && !({docs})().includes('Harbour-report.pdf')", timeout=60_000)
        assert not (corpus / "Harbour-report.pdf").exists()
        assert problems == []
    finally:
        app.close()
