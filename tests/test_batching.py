"""The batching queue in front of the query encoder: each caller its own answer, a bad one its own error.

Batches are made deterministic with a gate: the first batch blocks inside the encoder until the
other callers are queued behind it, so the second batch is exactly those callers.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.answer.assistant import Assistant
from app.batching import Batcher, BatchingEncoder
from app.index.embed import HashEmbedder
from app.runtime import Runtime
from app.settings import AnswerSettings
from tests.answer.test_direct import GatedParse, parse_behind_a_blocked_batch


class GatedEmbedder(HashEmbedder):
    """A hash embedder whose first call waits for `release`; records every call's texts; refuses 'BAD'."""

    def __init__(self) -> None:
        super().__init__(64)
        self.calls: list[list[str]] = []
        self.entered, self.release = threading.Event(), threading.Event()

    def encode(self, texts, batch_size=32, progress=False):
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(30), "the test never released the first batch"
        bad = [t for t in texts if "BAD" in t]
        if bad:
            raise ValueError(f"cannot encode {bad[0]!r}")
        return super().encode(texts, batch_size, progress)


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def run_behind_a_blocked_batch(encoder: BatchingEncoder, gate: GatedEmbedder, first, rest: list, call) -> dict:
    """`call(x)` for `first` (which blocks in the encoder), then for each of `rest` queued behind it;
    returns {x: result or exception}."""
    out: dict = {}

    def one(x) -> None:
        try:
            out[x] = call(x)
        except Exception as exc:  # noqa: BLE001 - the caller's own error is the result checked
            out[x] = exc

    leader = threading.Thread(target=one, args=(first,))
    leader.start()
    assert gate.entered.wait(30)
    followers = [threading.Thread(target=one, args=(x,)) for x in rest]
    for t in followers:
        t.start()
    wait_for(lambda: encoder.batcher.waiting == len(rest))
    gate.release.set()
    for t in [leader, *followers]:
        t.join(30)
    return out


def test_callers_queued_behind_a_batch_run_together_and_each_gets_its_own_vector():
    gate = GatedEmbedder()
    encoder = BatchingEncoder(gate, max_batch=16)
    texts = [f"question number {i}" for i in range(6)]
    out = run_behind_a_blocked_batch(encoder, gate, texts[0], texts[1:], lambda t: encoder.encode([t]))
    assert list(encoder.batcher.stats.batches) == [1, 5]
    assert [len(c) for c in gate.calls] == [1, 5] and sorted(gate.calls[1]) == sorted(texts[1:])
    reference = HashEmbedder(64)
    for t in texts:
        assert out[t].shape == (1, 64)
        assert np.array_equal(out[t][0], reference.encode([t])[0])  # the caller's own vector, not a neighbour's


def test_a_bad_item_in_a_batch_gets_its_error_and_the_others_their_results():
    gate = GatedEmbedder()
    encoder = BatchingEncoder(gate)
    rest = ["good one", "BAD one", "good two"]
    out = run_behind_a_blocked_batch(encoder, gate, "first", rest, lambda t: encoder.encode([t]))
    assert isinstance(out["BAD one"], ValueError) and str(out["BAD one"]) == "cannot encode 'BAD one'"
    for t in ("first", "good one", "good two"):
        assert np.array_equal(out[t][0], HashEmbedder(64).encode([t])[0])
    assert encoder.batcher.stats.retried_alone == 3  # the failed batch of 3, run again one by one


def test_max_batch_splits_the_queue_in_arrival_order():
    gate = GatedEmbedder()
    encoder = BatchingEncoder(gate, max_batch=2)
    run_behind_a_blocked_batch(encoder, gate, "q0", ["q1", "q2", "q3", "q4", "q5"], lambda t: encoder.encode([t]))
    assert list(encoder.batcher.stats.batches) == [1, 2, 2, 1]
    assert dict(encoder.batcher.stats.sizes) == {1: 2, 2: 2}  # the counts since start that health reports


def test_a_lone_question_does_not_wait_for_the_window():
    batcher = Batcher(lambda xs: [x * 2 for x in xs], max_batch=8, window=3600.0)  # an hour's window
    assert batcher.submit(21) == 42
    assert batcher.submit(5) == 10
    assert list(batcher.stats.batches) == [1, 1] and batcher.stats.windows_waited == 0
    assert dict(batcher.stats.sizes) == {1: 2}


def test_the_window_is_waited_only_when_others_are_queued_and_ends_when_the_batch_is_full():
    gate = GatedEmbedder()
    encoder = BatchingEncoder(gate, max_batch=2, window=3600.0)  # ends early only because the batch fills
    run_behind_a_blocked_batch(encoder, gate, "q0", ["q1", "q2"], lambda t: encoder.encode([t]))
    assert list(encoder.batcher.stats.batches) == [1, 2]
    assert encoder.batcher.stats.windows_waited == 0  # two queued = a full batch: nothing to wait for


def test_several_texts_go_straight_to_the_encoder_and_bad_settings_are_refused():
    inner = HashEmbedder(64)
    encoder = BatchingEncoder(inner)
    assert np.array_equal(encoder.encode(["a", "b"]), inner.encode(["a", "b"]))
    assert list(encoder.batcher.stats.batches) == [] and (encoder.name, encoder.dim) == (inner.name, 64)
    with pytest.raises(ValueError, match="max_batch 0 is below 1"):
        Batcher(lambda xs: xs, max_batch=0)


def test_concurrent_asks_through_the_batcher_equal_unbatched_asks(tiny_index: Path, tiny_corpus: Path):
    settings = AnswerSettings(threshold=0.2, floor=0.2)
    plain = Assistant.load(tiny_index, embedder=HashEmbedder(), settings=settings)
    gate = GatedEmbedder()
    batched = Assistant.load(tiny_index, embedder=BatchingEncoder(gate), settings=settings)
    questions = ["How many prisoners were held?", "Who wrote the report?", "What did the inspectors count?",
                 "Where were the cells?", "When was the visit?"]
    out = run_behind_a_blocked_batch(batched.embedder, gate, questions[0], questions[1:],
                                     lambda q: batched.ask(q).to_dict())
    assert list(batched.embedder.batcher.stats.batches) == [1, 4]
    for q in questions:
        assert out[q] == plain.ask(q).to_dict()


def test_under_load_a_window_lets_a_short_batch_wait_for_more():
    gate = GatedEmbedder()
    encoder = BatchingEncoder(gate, max_batch=8, window=0.05)
    out = run_behind_a_blocked_batch(encoder, gate, "q0", ["q1", "q2"], lambda t: encoder.encode([t]))
    assert list(encoder.batcher.stats.batches) == [1, 2] and encoder.batcher.stats.windows_waited == 1
    assert all(np.array_equal(out[t][0], HashEmbedder(64).encode([t])[0]) for t in ("q0", "q1", "q2"))


def test_concurrent_asks_with_the_question_parse_batched_are_byte_identical_to_unbatched_asks(
        tiny_index: Path, tiny_corpus: Path):
    settings = AnswerSettings(threshold=0.2, floor=0.2)
    plain = Assistant.load(tiny_index, embedder=HashEmbedder(), settings=settings)
    questions = ["How many prisoners were held?", "Who wrote the report?", "What did the inspectors count?",
                 "Where were the cells?", "When was the visit?"]
    expected = {q: json.dumps(plain.ask(q).to_dict(), ensure_ascii=False) for q in questions}  # one at a time
    gate = GatedParse()
    runtime = Runtime()
    runtime.question_parses = queue = Batcher(gate)  # this runtime's question parses pass the gate
    batched = Assistant.load(tiny_index, embedder=BatchingEncoder(HashEmbedder()), settings=settings, runtime=runtime)
    out = parse_behind_a_blocked_batch(queue, gate, questions[0], questions[1:],
                                       lambda q: json.dumps(batched.ask(q).to_dict(), ensure_ascii=False))
    assert [len(c) for c in gate.calls] == [1, 4]  # four questions parsed in one batch
    assert [out[i] for i in range(len(questions))] == [expected[q] for q in questions]
