"""The web chat in a real browser: Debian's headless Chromium driven by Playwright.

Loads the page, clicks an example, waits for the streamed answer, and checks that the quote and
its source are shown, that nothing from the hostile corpus ran (no dialog, no live <img>), and
that a like lands in the feedback file. Screenshots at desktop and phone width go to tmp_path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.feedback import read_feedback

from .test_web import EXAMPLES, make_assistant, start

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
WARDEN = 'The warden wrote <script>alert("pwned")</script> on the visitor board.'


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    from app.web import build_app

    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Debian chromium is not installed; run `make browser` (apt-get install chromium)")
    base = tmp_path_factory.mktemp("browser")
    app = build_app(make_assistant(base), base / "feedback.jsonl", examples=EXAMPLES)
    url = start(app)
    try:
        yield url, base / "feedback.jsonl"
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser, url: str, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []  # dialogs opened, requests off the machine
    page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
    page.on("request", lambda r: None if r.url.startswith(url.rstrip("/")) or r.url.startswith("data:")
            else problems.append(f"request to {r.url}"))  # nothing may leave the machine
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector("#vb-chat button.example")
    return page, problems


def test_example_click_shows_quote_and_source_and_runs_nothing(browser, page_url, tmp_path):
    url, feedback = page_url
    page, problems = open_page(browser, url, 1280, 900)
    assert page.locator(".vb-header h1").inner_text() == "Ask the report"
    assert page.locator("#vb-chat button.example").count() == 5
    assert page.locator("#vb-docs-filter").is_visible()  # two documents: a selector
    assert page.locator(".vb-docitem").count() == 2

    page.locator("#vb-chat button.example", has_text=EXAMPLES[0]).click()
    page.wait_for_selector("#vb-chat .vb-sources")

    quote = page.locator("#vb-chat blockquote.vb-quote").first
    assert quote.inner_text() == f"[1] \u201c{WARDEN}\u201d"
    source = page.locator("#vb-chat .vb-source").first
    assert source.locator(".vb-source-head").inner_text() == "[1] notes/hostile.md \u00b7 paragraph 2"
    assert source.locator("mark").inner_text() == WARDEN
    assert page.locator("#vb-chat .vb-user").first.inner_text() == EXAMPLES[0]

    # the second example holds <img src=x onerror=...>: shown as text, never an element
    page.locator("#vb-question textarea").fill(EXAMPLES[2])
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#vb-chat .vb-sources').length === 2")
    assert "<img src=x onerror=alert(1)>" in page.locator("#vb-chat blockquote.vb-quote").last.inner_text()
    assert page.locator("#vb-chat img[src='x']").count() == 0
    assert page.locator("#vb-chat script").count() == 0
    page.wait_for_timeout(500)
    assert problems == []
    page.screenshot(path=str(tmp_path / "desktop.png"), full_page=True)

    page.locator("#vb-chat button[aria-label='Like']").first.click()
    page.wait_for_timeout(1000)
    rows = read_feedback(feedback)
    assert [(r["vote"], r["question"], r["quotes"][0]["text"]) for r in rows] == [("like", EXAMPLES[0], WARDEN)]
    page.close()


def test_phone_width_has_no_sideways_scroll_and_polite_notice(browser, page_url, tmp_path):
    url, _ = page_url
    page, problems = open_page(browser, url, 390, 844)
    page.locator("#vb-question textarea").fill("x" * 2500)
    page.keyboard.press("Enter")
    notice = page.locator("#vb-chat .vb-notice")
    notice.wait_for()
    assert notice.inner_text() == ("Sorry \u2014 the question is 2,500 characters; the limit is 2,000. "
                                   "Shorten it and ask again.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    page.close()
