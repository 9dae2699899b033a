"""Driving the chat page in Debian's headless Chromium (Playwright): the browser tests' helpers. Their
fixtures (`browser`, `page_url`) are in tests/web/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
CITED = "What did the inspectors find in the prisons?"  # three quotes from prisons.txt


def open_page(browser, url: str, width: int, height: int):
    """A new page of the chat at `url`, loaded; and the list of its problems (dialogs opened, requests that
    left the machine), filled as they happen."""
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []  # dialogs opened, requests off the machine
    page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
    page.on("request", lambda r: None if r.url.startswith(url.rstrip("/")) or r.url.startswith("data:")
            else problems.append(f"request to {r.url}"))  # nothing may leave the machine
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector("#vb-chat button.example")
    return page, problems


@contextmanager
def chat_page(browser, url: str, width: int, height: int, screenshot: Path | None = None,
              full_page: bool = False) -> Iterator:
    """A page of the chat at `width` x `height` (`open_page`). Left without an error: no dialog opened and no
    request left the machine, the screenshot is taken (with `screenshot`), and the page is closed."""
    page, problems = open_page(browser, url, width, height)
    yield page
    assert problems == []
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=full_page)
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


def serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): " + "; ".join(f"{n['target'][-1][-90:]}: {n['failureSummary'][-200:]}"
                                                        for n in v["nodes"][:3])
            for v in found if v["impact"] in ("serious", "critical")]
