"""The web chat in a real browser: Debian's headless Chromium driven by Playwright.

Loads the page, clicks an example, waits for the streamed answer, and checks that the quote and
its source are shown, that nothing from the hostile corpus ran (no dialog, no live <img>), and
that a like lands in the feedback file. Then: no thumbs under a notice, the start of a long
answer stays in view, and the page follows a rebuild of the index. Screenshots go to tmp_path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.feedback import read_feedback

from .test_web import EXAMPLES, VISITS, make_assistant, start, write_corpus

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
    page.wait_for_function("[...document.images].every(i => i.complete)")  # any onerror has had its chance
    assert problems == []
    page.screenshot(path=str(tmp_path / "desktop.png"), full_page=True)

    with page.expect_response(lambda r: r.request.method == "POST" and "/gradio_api/" in r.url) as vote:
        page.locator("#vb-chat button[aria-label='Like']").first.click()
    assert vote.value.ok  # the like is answered only after its line is written
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


def ask(page, question: str, answers: int) -> None:
    """Type a question, press Enter, and wait until the chat holds `answers` finished replies."""
    page.locator("#vb-question textarea").fill(question)
    page.keyboard.press("Enter")
    page.wait_for_function("n => document.querySelectorAll('#vb-chat .vb-answer, #vb-chat .vb-notice').length === n"
                           " && !document.querySelector('#vb-chat .vb-pending')", arg=answers)
    page.evaluate("() => { window.vbSame = 0; window.vbLast = null; }")
    page.wait_for_function(SETTLED)  # the chat box and the page have stopped scrolling


# True once the chat box's and the window's scroll positions and sizes are unchanged for 10
# animation frames in a row (web.js pins the new question to the top while the answer fills in).
SETTLED = """() => {
  const box = document.querySelector('#vb-chat [role=log]');
  const now = [box.scrollTop, box.scrollHeight, window.scrollY, document.body.scrollHeight].join();
  window.vbSame = now === window.vbLast ? (window.vbSame || 0) + 1 : 0;
  window.vbLast = now;
  return window.vbSame >= 10;
}"""


def test_no_feedback_buttons_under_a_notice(browser, page_url, tmp_path):
    url, _ = page_url
    page, problems = open_page(browser, url, 1280, 900)
    ask(page, EXAMPLES[1], 1)
    ask(page, "   ", 2)  # an empty question: a notice, right under the answer
    assert page.locator("#vb-chat .vb-notice").inner_text() == ("Sorry \u2014 the question is empty; type a "
                                                                 "question about the report.")
    likes = page.locator("#vb-chat button[aria-label='Like']")
    assert [likes.nth(i).is_visible() for i in range(likes.count())] == [True, False]  # the answer's, not the notice's
    assert problems == []
    page.screenshot(path=str(tmp_path / "notice.png"))
    page.close()


def test_start_of_a_long_answer_stays_in_view(browser, page_url, tmp_path):
    url, _ = page_url
    page, problems = open_page(browser, url, 390, 844)
    ask(page, EXAMPLES[1], 1)
    ask(page, "What did the inspectors find in the prisons?", 2)  # three quotes and their sources
    box = page.locator("#vb-chat [role=log]")
    question = page.locator("#vb-chat .vb-user").last
    first_quote = page.locator("#vb-chat .vb-answer").last.locator("blockquote.vb-quote").first
    assert first_quote.inner_text().startswith("[1] \u201cThe inspectors visited four prisons")
    answer_height = page.locator("#vb-chat .vb-answer").last.bounding_box()["height"]
    top, height = box.bounding_box()["y"], box.bounding_box()["height"]
    assert answer_height > height  # the answer does not fit: the box shows its start, not its end
    assert box.evaluate("b => b.scrollTop") > 0
    assert abs(question.bounding_box()["y"] - top) < 2  # the question at the top of the box...
    quote = first_quote.bounding_box()
    assert top < quote["y"] and quote["y"] + quote["height"] < top + height  # ...and the first quote in view
    assert top > -2 and quote["y"] + quote["height"] < 844  # in the phone's window too
    assert problems == []
    page.screenshot(path=str(tmp_path / "long-answer.png"))
    page.close()


def test_page_follows_a_rebuild_of_the_index(browser, tmp_path):
    from app.answer import Assistant
    from app.build import build_index
    from app.embed import HashEmbedder
    from app.settings import AnswerSettings
    from app.web import LiveAssistant, build_app

    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    build_index(index, HashEmbedder(), corpus_dir=corpus)
    first = Assistant.load(index, embedder=HashEmbedder(), settings=AnswerSettings(threshold=0.3), corpus_dir=corpus)
    app = build_app(LiveAssistant(first, index, corpus), tmp_path / "feedback.jsonl")
    url = start(app)
    docs = "() => [...document.querySelectorAll('.vb-docfile')].map(e => e.textContent).join(' ')"
    try:
        page, problems = open_page(browser, url, 1280, 900)
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
        fresh.wait_for_function("document.querySelector('#vb-chat button.example').innerText.startsWith('Who paid')",
                                timeout=10_000)
        assert fresh.locator("#vb-chat button.example").all_inner_texts()[:2] == [
            "Who paid for the lawyers of the prisoners?", "What is this report about?"]
        fresh.locator("#vb-docs-filter input").click()
        fresh.get_by_role("option", name="Prison Visits Log (visits.txt)").click()
        ask(fresh, "Who paid for the lawyers?", 1)
        assert {s.inner_text() for s in fresh.locator("#vb-chat .vb-source .vb-doc").all()} == {"visits.txt"}
        assert problems == []
        fresh.screenshot(path=str(tmp_path / "rebuilt.png"))
    finally:
        app.close()
