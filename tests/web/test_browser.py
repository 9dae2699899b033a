"""The web chat in a real browser: Debian's headless Chromium driven by Playwright (helpers in
tests/web/pages.py, fixtures in tests/web/conftest.py).

Loads the page, clicks an example, waits for the streamed answer, and checks that the quote and
its source are shown, that nothing from the hostile corpus ran (no dialog, no live <img>), and
that a like lands in the feedback file and is acknowledged. Then: a polite notice at phone width, no thumbs
under a notice, the start of a long answer stays in view, a phone-width page scrolls as one page with the
question box in view, and a follow-up leans on the previous turn. The document viewer and axe-core are in
test_browser_viewer.py; rebuilds and uploads under an open page in test_browser_uploads.py. Every wait is
for a condition, never a fixed time. Screenshots go to tmp_path.
"""

from __future__ import annotations

import pytest

from app.web.feedback import read_feedback

from .pages import CITED, ask, chat_page, open_page
from .test_chat import EXAMPLES

pytestmark = pytest.mark.browser

WARDEN = 'The warden wrote <script>alert("pwned")</script> on the visitor board.'


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
    with chat_page(browser, page_url[0], 390, 844, tmp_path / "phone.png", full_page=True) as page:
        page.locator("#vb-question textarea").fill("x" * 2500)
        page.keyboard.press("Enter")
        notice = page.locator("#vb-chat .vb-notice")
        notice.wait_for()
        assert notice.inner_text() == ("Sorry \u2014 the question is 2,500 characters; the limit is 2,000. "
                                       "Shorten it and ask again.")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_no_feedback_buttons_under_a_notice(browser, page_url, tmp_path):
    with chat_page(browser, page_url[0], 1280, 900, tmp_path / "notice.png") as page:
        ask(page, EXAMPLES[1], 1)
        ask(page, "   ", 2)  # an empty question: a notice, right under the answer
        assert page.locator("#vb-chat .vb-notice").inner_text() == ("Sorry \u2014 the question is empty; type a "
                                                                     "question about the report.")
        likes = page.locator("#vb-chat button[aria-label='Like']")
        # the answer's, not the notice's
        assert [likes.nth(i).is_visible() for i in range(likes.count())] == [True, False]


def test_start_of_a_long_answer_stays_in_view(browser, page_url, tmp_path):
    with chat_page(browser, page_url[0], 390, 844, tmp_path / "long-answer.png") as page:
        ask(page, EXAMPLES[1], 1)
        ask(page, "What did the inspectors find in the prisons?", 2)  # three quotes and their sources
        question = page.locator("#vb-chat .vb-user").last
        first_quote = page.locator("#vb-chat .vb-answer").last.locator("blockquote.vb-quote").first
        assert first_quote.inner_text().startswith("[1] \u201cThe inspectors visited four prisons")
        answer_height = page.locator("#vb-chat .vb-answer").last.bounding_box()["height"]
        composer = page.locator("#vb-composer").bounding_box()
        # the answer does not fit: the page shows its start, not its end
        assert answer_height + composer["height"] > 844
        assert page.evaluate("window.scrollY") > 0
        assert abs(question.bounding_box()["y"]) < 2  # the question at the top of the window...
        quote = first_quote.bounding_box()
        # ...the first quote above the question box
        assert 0 < quote["y"] and quote["y"] + quote["height"] < composer["y"]


def test_phone_page_scrolls_as_one_with_the_question_box_in_view(browser, page_url, tmp_path):
    with chat_page(browser, page_url[0], 390, 844, tmp_path / "phone-top.png") as page:
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


def test_a_follow_up_in_the_browser_leans_on_the_previous_turn(browser, page_url):
    """Typed as a person would: the elliptical second question is read with the first one's subject,
    while the same words in a fresh chat are not. ("Built for how many?", used here before answer spans,
    is now answered alone too: the cells sentence holds "built for 150", a count; "And their capacity?"
    finds nothing alone, so its closest passage shows which turn it leaned on.)"""
    with chat_page(browser, page_url[0], 1280, 800) as page:
        ask(page, "How many prisoners were held in the cells?", 1)
        ask(page, "And their capacity?", 2)
        second = page.locator("#vb-chat .vb-answer").nth(1)
        # resolved ("their": the prisoners asked about), and its best quote is the first answer's cells sentence,
        # not shown again
        lines = second.locator("p.vb-message").all_inner_texts()
        assert lines[0] == "Understood as: And the prisoners' capacity?" and "[1] (quoted above)" in lines
    with chat_page(browser, page_url[0], 1280, 800) as fresh:
        ask(fresh, "And their capacity?", 1)
        first = fresh.locator("#vb-chat .vb-answer").first
        assert "vb-unanswered" in (first.get_attribute("class") or "")
        assert first.locator(".vb-quote .vb-text").first.inner_text() == \
            "\u201cA picture tag <img src=x onerror=alert(1)> was painted on the canteen wall.\u201d"
