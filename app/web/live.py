"""Following rebuilds while serving: the assistant of the newest complete build of an index folder."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import VerbatimError
from app.web.http import Unavailable

if TYPE_CHECKING:
    from app.answer.assistant import Assistant

log = logging.getLogger(__name__)


class LiveAssistant:
    """The assistant of an index folder that follows its rebuilds while the chat is serving.

    `index_dir` is a link to the current build (see app/index/store.py). `current()` reads that link once
    per question; until a rebuild swaps in a new build, the old one answers; then one thread loads
    the new build while the questions that arrive meanwhile wait for it, and the switch is one
    assignment. A new build that does not
    load, was built with another model, or no longer matches the corpus is refused (logged once)
    and the old one keeps answering: never an answer from a mismatched index.

    >>> import tempfile
    >>> from app.answer.assistant import Assistant
    >>> from app.index.build import build_index
    >>> from app.index.embed import HashEmbedder  # a deterministic stand-in for the model
    >>> from app.index.ingest import document_from_text
    >>> folder = Path(tempfile.mkdtemp())
    >>> def build(text):
    ...     _ = build_index(folder / "index", HashEmbedder(), documents=[document_from_text("r.txt", text)])
    >>> build("The inspectors counted 212 prisoners.")
    >>> live = LiveAssistant(Assistant.load(folder / "index", HashEmbedder()), folder / "index")
    >>> live.current().index.documents[0].text
    'The inspectors counted 212 prisoners.'
    >>> build("The inspectors counted 300 prisoners.")  # a rebuild swaps the link
    >>> live.current().index.documents[0].text
    'The inspectors counted 300 prisoners.'
    """

    def __init__(self, assistant: Assistant, index_dir: Path, corpus_dir: Path | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.corpus_dir = corpus_dir
        self._state = (os.path.realpath(self.index_dir), assistant)  # (build folder, its assistant)
        self._refused: str | None = None
        self._loading = threading.Lock()

    def current(self, wait: bool = True) -> Assistant:
        """The assistant of the newest complete build.

        A question that sees a new build waits while one thread loads it (a fraction of a second
        for a report), so once a build is swapped in, no answer comes from the previous one. With
        `wait=False` (the HTTP API) it raises `Unavailable` instead of waiting for another thread's load."""
        target = os.path.realpath(self.index_dir)
        loaded, assistant = self._state
        if target in (loaded, self._refused):
            return assistant
        if not self._loading.acquire(blocking=wait):
            raise Unavailable("a new build of the index is being loaded; try again in a moment")
        try:
            return self._switch(target)
        finally:
            self._loading.release()

    def _switch(self, target: str) -> Assistant:
        from app.answer.assistant import Assistant

        loaded, old = self._state
        if target in (loaded, self._refused):  # another thread got here first
            return old
        try:
            fresh = Assistant.load(Path(target), old.embedder, old.settings, self.corpus_dir, mmap=True,
                                  runtime=old.runtime)
        except VerbatimError as exc:
            log.warning("still answering from %s; the new build is refused: %s", loaded, exc)
            self._refused = target
            return old
        self._state = (target, fresh)
        log.info("now answering from the new build %s", target)
        return fresh


def current_assistant(assistant: Assistant | LiveAssistant, wait: bool = True) -> Assistant:
    return assistant.current(wait) if isinstance(assistant, LiveAssistant) else assistant
