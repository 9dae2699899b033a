"""The feedback file (app/web/feedback.py): one whole JSON line per vote, under concurrent writers in threads
and in processes. The votes from the page are in tests/web/test_browser.py."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from app.web.feedback import FeedbackLog, read_feedback


def test_feedback_lines_stay_whole_under_concurrent_writers(tmp_path):
    log = FeedbackLog(tmp_path / "sub" / "feedback.jsonl")
    quotes = [{"n": 1, "text": "x" * 5000}]

    def vote(i: int) -> None:
        for j in range(25):
            log.record(f"q{i}-{j}", quotes, "like" if j % 2 else "dislike")

    threads = [threading.Thread(target=vote, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_vote_in_process, args=(str(log.path), i)) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]
    rows = read_feedback(log.path)
    assert len(rows) == 8 * 25 + 2 * 25
    assert {r["question"] for r in rows} == {f"q{i}-{j}" for i in range(8) for j in range(25)} | {
        f"p{i}-{j}" for i in range(2) for j in range(25)}
    assert all(r["quotes"] == [{"n": 1, "text": ("x" if r["question"][0] == "q" else "y") * 5000}]
               and r["vote"] in ("like", "dislike") and r["time"] for r in rows)
    with pytest.raises(ValueError, match="vote 'meh' is not one of like, dislike"):
        log.record("q", [], "meh")


def _vote_in_process(path: str, i: int) -> None:
    log = FeedbackLog(Path(path))
    for j in range(25):
        log.record(f"p{i}-{j}", [{"n": 1, "text": "y" * 5000}], "like")


def test_feedback_row_shape(tmp_path):
    log = FeedbackLog(tmp_path / "f.jsonl")
    row = log.record("Who?", [{"n": 1}], "dislike", when="2026-01-01T00:00:00+00:00", answered=True)
    line = (tmp_path / "f.jsonl").read_text(encoding="utf-8")
    assert json.loads(line) == row == {"time": "2026-01-01T00:00:00+00:00", "vote": "dislike", "question": "Who?",
                                       "quotes": [{"n": 1}], "answered": True}
    assert line.endswith("\n") and line.count("\n") == 1
