"""The document viewer in headless Chromium (helpers in tests/web/pages.py, fixtures in tests/web/conftest.py):
a citation opens the document at its quote, by mouse and by keyboard, and axe-core finds no serious or
critical violation, also with the viewer open over the bundled report at 1366x900 and after the Briefing
button. Every wait is for a condition, never a fixed time. Screenshots go to tmp_path.
"""

from __future__ import annotations

import shutil

import pytest

from .pages import CITED, ask, chat_page, open_page, serious, settled
from .test_chat import start

pytestmark = pytest.mark.browser


def open_viewer_by_click(page, n: int):
    page.locator("#vb-chat .vb-answer").last.locator("blockquote.vb-quote a.vb-cite", has_text=f"[{n}]").click()
    page.locator("#vb-viewer #vb-focus").wait_for()


def test_a_citation_opens_the_document_at_its_quote(browser, page_url, tmp_path):
    with chat_page(browser, page_url[0], 1280, 800) as page:
        ask(page, CITED, 1)
        quotes = page.locator("#vb-chat .vb-answer").last.locator("blockquote.vb-quote .vb-text").all_inner_texts()
        link = page.locator("#vb-chat blockquote.vb-quote a.vb-cite", has_text="[2]")
        assert link.get_attribute("aria-label") == "Open source 2 in the document"
        open_viewer_by_click(page, 2)
        viewer = page.get_by_role("dialog", name="Prison Conditions Review")
        assert viewer.is_visible()
        focus = viewer.locator("mark.vb-focus")
        assert f"\u201c{focus.inner_text()}\u201d" == quotes[1]  # quote [2], highlighted
        assert page.evaluate("document.activeElement.id") == "vb-focus"
        body, mark = viewer.locator(".vb-viewer-body").bounding_box(), focus.bounding_box()
        assert body["y"] <= mark["y"] and mark["y"] + mark["height"] <= body["y"] + body["height"]  # scrolled to it
        assert viewer.locator("mark.vb-other").count() == 2  # the answer's other quotes, faintly
        assert viewer.locator(".vb-pn").all_inner_texts() == ["1", "2", "3", "4"]  # every paragraph, numbered
        background = viewer.locator("mark.vb-focus").evaluate("m => getComputedStyle(m).backgroundColor")
        assert background == "rgb(254, 240, 138)"
        page.screenshot(path=str(tmp_path / "viewer.png"))
        page.keyboard.press("Escape")
        viewer.wait_for(state="hidden")
        assert page.evaluate("document.activeElement.textContent") == "[2]"  # back where the reader was

        page.locator(".vb-docitem a.vb-open-doc", has_text="Hostile Test Notes").click()  # the documents panel
        page.get_by_role("dialog", name="Hostile Test Notes").wait_for()
        assert page.locator("#vb-viewer mark").count() == 0
        assert "&lt;script&gt;" not in page.locator("#vb-viewer").inner_text()  # escaped once, shown as text
        assert "<script>alert" in page.locator("#vb-viewer").inner_text()
        page.get_by_role("button", name="\u2190 Back to the chat").click()
        page.locator("#vb-viewer").wait_for(state="hidden")


def test_tab_reaches_a_citation_and_enter_opens_it(browser, page_url):
    with chat_page(browser, page_url[0], 1280, 800) as page:
        ask(page, CITED, 1)
        page.evaluate("document.activeElement.blur()")
        for _ in range(80):  # Tab through the page from its start
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.matches('a.vb-cite')"):
                break
        assert page.evaluate("document.activeElement.textContent") == "[1]"
        page.keyboard.press("Enter")
        page.locator("#vb-viewer #vb-focus").wait_for()
        assert page.locator("#vb-viewer mark.vb-focus").inner_text().startswith("The inspectors visited four prisons")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "\u2190 Back to the chat"  # the rest is inert
        page.keyboard.press("Enter")
        page.locator("#vb-viewer").wait_for(state="hidden")
        assert page.evaluate("document.activeElement.textContent") == "[1]"
        assert page.get_by_role("textbox", name="Your question about the report").count() == 1  # a labelled input


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_axe_finds_no_serious_violation(browser, page_url, width, height):
    url, _ = page_url
    page, _ = open_page(browser, url, width, height)
    ask(page, CITED, 1)
    ask(page, "What is the capital of France?", 2)  # a closest passage too
    assert serious(page) == []
    page.locator("#vb-chat .vb-answer").first.locator("blockquote.vb-quote a.vb-cite").first.click()
    page.locator("#vb-viewer #vb-focus").wait_for()
    assert serious(page) == []
    page.close()


@pytest.fixture(scope="module")
def report_url(tmp_path_factory):
    """The chat over the bundled report (long enough that the viewer scrolls), hash-embedded."""
    from app.answer.assistant import Assistant
    from app.index.build import build_index
    from app.index.embed import HashEmbedder
    from app.settings import AnswerSettings
    from app.web.chat import build_app
    from tests.conftest import REPORT

    base = tmp_path_factory.mktemp("report")
    (base / "corpus").mkdir()
    shutil.copy(REPORT, base / "corpus" / REPORT.name)
    build_index(base / "index", HashEmbedder(), corpus_dir=base / "corpus")
    settings = AnswerSettings(threshold=0.0, floor=0.0)
    assistant = Assistant.load(base / "index", embedder=HashEmbedder(), settings=settings)
    app = build_app(assistant, base / "feedback.jsonl")
    url = start(app)
    try:
        yield url
    finally:
        app.close()


def test_axe_with_the_viewer_open_over_the_report(browser, report_url, tmp_path):
    """The state axe-core once flagged (scrollable-region-focusable on the viewer's body): the issue's question,
    [1] clicked, at 1366x900; then the Briefing button's answer and a briefing point from the documents panel."""
    with chat_page(browser, report_url, 1366, 900, tmp_path / "report-viewer.png") as page:
        ask(page, "How many people were arrested on charges of organizing the violence?", 1)
        page.locator("#vb-chat .vb-answer").first.locator("blockquote.vb-quote a.vb-cite", has_text="[1]").click()
        page.locator("#vb-viewer #vb-focus").wait_for()
        body = page.locator("#vb-viewer .vb-viewer-body")
        assert body.evaluate("b => b.scrollHeight > b.clientHeight")  # the document scrolls inside the viewer
        assert serious(page) == []
        page.keyboard.press("Escape")
        page.locator("#vb-viewer").wait_for(state="hidden")

        page.locator("#vb-new").click()  # a new conversation shows the examples again, Briefing first
        page.locator("#vb-chat button.example", has_text="Briefing").click()
        page.wait_for_function("document.querySelector('#vb-chat .vb-answer .vb-sources') !== null")
        settled(page)
        points = page.locator("#vb-chat .vb-answer").last.locator("blockquote.vb-quote")
        assert points.count() >= 3
        assert page.locator("#vb-chat .vb-answer .vb-message").first.inner_text().startswith("These are the report")
        page.locator(".vb-brief summary").click()
        page.locator(".vb-brief a.vb-cite", has_text="[2]").click()
        page.locator("#vb-viewer #vb-focus").wait_for()
        brief = page.locator(".vb-brief .vb-text").all_inner_texts()
        assert f"\u201c{page.locator('#vb-viewer mark.vb-focus').inner_text()}\u201d" == brief[1]
        assert page.locator("#vb-viewer mark.vb-other").count() == len(brief) - 1  # the other points, faintly
        assert serious(page) == []
