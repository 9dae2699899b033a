"""The web chat in a real browser: Debian's headless Chromium driven by Playwright.

Loads the page, clicks an example, waits for the streamed answer, and checks that the quote and
its source are shown, that nothing from the hostile corpus ran (no dialog, no live <img>), and
that a like lands in the feedback file and is acknowledged. Then: no thumbs under a notice, the
start of a long answer stays in view, a citation opens the document viewer at its quote (by mouse
and by keyboard), axe-core finds no serious or critical violation (also with the viewer open over the
bundled report at 1366x900, and after the Briefing button), a phone-width page scrolls as
one page with the question box in view, and the page follows a rebuild of the index. Every wait is
for a condition, never a fixed time. Screenshots go to tmp_path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.web.feedback import read_feedback

from .test_chat import EXAMPLES, VISITS, make_assistant, start, write_corpus

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
WARDEN = 'The warden wrote <script>alert("pwned")</script> on the visitor board.'


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    from app.web.chat import build_app

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
    assert page.locator("#vb-chat button.example").all_inner_texts() == ["Briefing", *EXAMPLES]
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

    page.locator("#vb-chat button[aria-label='Like']").first.click()
    ack = page.locator("#vb-vote-status .vb-vote-ack")
    ack.wait_for()  # a visible acknowledgement, written once the vote is recorded
    assert ack.inner_text() == f"Thank you \u2014 your vote (helpful) on \u201c{EXAMPLES[0]}\u201d was recorded."
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
                           " && !document.querySelector('#vb-chat .vb-pending')"
                           " && [...document.querySelectorAll('#vb-chat .vb-answer')]"
                           "      .every(a => a.querySelector('.vb-sources') || !a.querySelector('.vb-quote'))"
                           " && document.querySelector('#vb-question textarea').value === ''", arg=answers)
    settled(page)


# True once the window's scroll position and the page's size are unchanged for 10 animation frames in a row.
SETTLED = """() => {
  const now = [window.scrollY, document.documentElement.scrollHeight].join();
  window.vbSame = now === window.vbLast ? (window.vbSame || 0) + 1 : 0;
  window.vbLast = now;
  return window.vbSame >= 10;
}"""


def settled(page) -> None:
    """Wait until the chat has stopped changing: no finite animation running (messages fade in), and two
    animation frames without a mutation."""
    page.wait_for_function("""() => document.getAnimations().every(a => a.playState !== 'running'
        || a.effect.getComputedTiming().iterations === Infinity)""", polling=100)
    page.evaluate("() => { window.vbSame = 0; window.vbLast = null; }")
    page.wait_for_function(SETTLED)  # the page has stopped scrolling (web.js pins the new question)
    page.wait_for_function("""() => new Promise(done => {
        let changed = false;
        const seen = new MutationObserver(() => { changed = true; });
        seen.observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true});
        requestAnimationFrame(() => requestAnimationFrame(() => { seen.disconnect(); done(!changed); }));
    })""", polling=100)


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
    question = page.locator("#vb-chat .vb-user").last
    first_quote = page.locator("#vb-chat .vb-answer").last.locator("blockquote.vb-quote").first
    assert first_quote.inner_text().startswith("[1] \u201cThe inspectors visited four prisons")
    answer_height = page.locator("#vb-chat .vb-answer").last.bounding_box()["height"]
    composer = page.locator("#vb-composer").bounding_box()
    assert answer_height + composer["height"] > 844  # the answer does not fit: the page shows its start, not its end
    assert page.evaluate("window.scrollY") > 0
    assert abs(question.bounding_box()["y"]) < 2  # the question at the top of the window...
    quote = first_quote.bounding_box()
    assert 0 < quote["y"] and quote["y"] + quote["height"] < composer["y"]  # ...the first quote above the question box
    assert problems == []
    page.screenshot(path=str(tmp_path / "long-answer.png"))
    page.close()


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


CITED = "What did the inspectors find in the prisons?"  # three quotes from prisons.txt


def open_viewer_by_click(page, n: int):
    page.locator("#vb-chat .vb-answer").last.locator("blockquote.vb-quote a.vb-cite", has_text=f"[{n}]").click()
    page.locator("#vb-viewer #vb-focus").wait_for()


def test_a_citation_opens_the_document_at_its_quote(browser, page_url, tmp_path):
    url, _ = page_url
    page, problems = open_page(browser, url, 1280, 800)
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
    assert viewer.locator("mark.vb-focus").evaluate("m => getComputedStyle(m).backgroundColor") == "rgb(254, 240, 138)"
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
    assert problems == []
    page.close()


def test_tab_reaches_a_citation_and_enter_opens_it(browser, page_url):
    url, _ = page_url
    page, problems = open_page(browser, url, 1280, 800)
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
    assert problems == []
    page.close()


def serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): " + "; ".join(f"{n['target'][-1][-90:]}: {n['failureSummary'][-200:]}"
                                                        for n in v["nodes"][:3])
            for v in found if v["impact"] in ("serious", "critical")]


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
    page, problems = open_page(browser, report_url, 1366, 900)
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
    assert problems == []
    page.screenshot(path=str(tmp_path / "report-viewer.png"))
    page.close()


def test_phone_page_scrolls_as_one_with_the_question_box_in_view(browser, page_url, tmp_path):
    url, _ = page_url
    page, problems = open_page(browser, url, 390, 844)
    assert page.evaluate("document.activeElement.tagName") != "TEXTAREA"  # no autofocus scroll on a phone
    assert page.evaluate("window.scrollY") == 0
    closed = "() => [...document.querySelectorAll('#vb-docs-panel button.label-wrap, #vb-how button.label-wrap')]" \
             ".map(b => b.getAttribute('aria-expanded')).join()"
    page.wait_for_function(f"({closed})() === 'false,false'")  # side panels start collapsed
    ask(page, CITED, 1)
    ask(page, "Who was held in solitary confinement?", 2)
    scrollers = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => {
        const s = getComputedStyle(e);
        return /(auto|scroll)/.test(s.overflowY) && e.scrollHeight > e.clientHeight + 1;
    }).map(e => e.id || e.className)""")
    assert scrollers == []  # one scroll container: the page
    assert page.evaluate("document.documentElement.scrollHeight") > 844 * 2
    box = page.locator("#vb-question textarea").bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= 844  # the question box stays in view (sticky)
    page.mouse.wheel(0, -10_000)
    page.wait_for_function("window.scrollY === 0")
    box = page.locator("#vb-question textarea").bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= 844
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []
    page.screenshot(path=str(tmp_path / "phone-top.png"))
    page.close()


def test_a_follow_up_in_the_browser_leans_on_the_previous_turn(browser, page_url):
    """Typed as a person would: the elliptical second question is read with the first one's subject,
    while the same words in a fresh chat are not. ("Built for how many?", used here before answer spans,
    is now answered alone too: the cells sentence holds "built for 150", a count; "And their capacity?"
    finds nothing alone, so its closest passage shows which turn it leaned on.)"""
    url, _ = page_url
    page, problems = open_page(browser, url, 1280, 800)
    ask(page, "How many prisoners were held in the cells?", 1)
    ask(page, "And their capacity?", 2)
    second = page.locator("#vb-chat .vb-answer").nth(1)
    # resolved ("their": the prisoners asked about), and its best quote is the first answer's cells sentence,
    # not shown again
    lines = second.locator("p.vb-message").all_inner_texts()
    assert lines[0] == "Understood as: And the prisoners' capacity?" and "[1] (quoted above)" in lines
    page.close()
    fresh, more = open_page(browser, url, 1280, 800)
    ask(fresh, "And their capacity?", 1)
    first = fresh.locator("#vb-chat .vb-answer").first
    assert "vb-unanswered" in (first.get_attribute("class") or "")
    assert first.locator(".vb-quote .vb-text").first.inner_text() == \
        "\u201cA picture tag <img src=x onerror=alert(1)> was painted on the canteen wall.\u201d"
    fresh.close()
    assert problems == [] and more == []


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
