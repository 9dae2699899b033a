"""Feedback: each like / dislike in the chat becomes one JSON line, for turning into eval items.

A line is written with a single `os.write` on a file opened with `O_APPEND`, under a lock, so
concurrent voters (threads here, or other processes appending to the same file) never
interleave or split lines.

>>> import tempfile, pathlib
>>> log = FeedbackLog(pathlib.Path(tempfile.mkdtemp()) / "feedback.jsonl")
>>> log.record("Who?", [{"n": 1, "text": "Him."}], "like", when="2026-01-01T00:00:00+00:00")["vote"]
'like'
>>> read_feedback(log.path)[0]["question"]
'Who?'
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

VOTES = ("like", "dislike")


class FeedbackLog:
    """Appends votes to a JSON-lines file: {"time", "vote", "question", "quotes", ...extra}."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, question: str, quotes: list[dict], vote: str, when: str | None = None, **extra) -> dict:
        """Append one vote and return the row written."""
        if vote not in VOTES:
            raise ValueError(f"vote {vote!r} is not one of {', '.join(VOTES)}")
        row = {"time": when or datetime.now(UTC).isoformat(timespec="seconds"), "vote": vote,
               "question": question, "quotes": quotes, **extra}
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = os.write(fd, line)
                if written != len(line):  # a full disk; never leave half a line behind silently
                    raise OSError(f"wrote {written} of {len(line)} bytes to {self.path}")
            finally:
                os.close(fd)
        log.info("feedback %s for %r", vote, question)
        return row


def read_feedback(path: Path) -> list[dict]:
    """Every vote in a feedback file, oldest first (a missing file has none)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]
