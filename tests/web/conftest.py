"""The browser tests' fixtures (their helpers are in tests/web/pages.py): Debian's headless Chromium, and the
chat over the test corpus of tests/web/test_chat.py served in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .pages import ARGS, CHROMIUM


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    """(url, feedback file) of the chat with the test corpus and its example questions."""
    from app.web.chat import build_app

    from .test_chat import EXAMPLES, make_assistant, start

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
