"""The batching bench's counting (never its timings): identity of batched vectors, the closed loop's tallies."""

from __future__ import annotations

import numpy as np

from app.answer.assistant import Assistant
from app.bench.batching import batching_rows, closed_loop, identical_rows
from app.index.embed import HashEmbedder


class PaddingSensitive(HashEmbedder):
    """Vectors that change when a text is encoded beside others (what padding must not do)."""

    def encode(self, texts, batch_size=32, progress=False):
        out = super().encode(texts, batch_size, progress)
        return out + (np.float32(1e-3) if len(texts) > 1 else np.float32(0))


def test_identity_counts_rows_equal_to_their_alone_vector():
    questions = ["one", "two", "three"]
    assert identical_rows(HashEmbedder(), questions, size=2) == {"questions": 3, "bitwise_identical": 3,
                                                                 "max_abs_difference": 0.0}
    moved = identical_rows(PaddingSensitive(), questions, size=2)
    # batches ["one", "two"] and ["three"]: only the lone third question keeps its vector
    assert moved["bitwise_identical"] == 1 and abs(moved["max_abs_difference"] - 1e-3) < 1e-6


def test_closed_loop_tallies_answers_and_rows_show_them(tiny_assistant: Assistant):
    run = closed_loop(tiny_assistant, ["How many prisoners were held?", "Who wrote it?"], clients=2, seconds=0.3)
    assert run["answered"] >= 2 and run["cpu_ms_per_answer"] > 0 and run["p50_ms"] <= run["p95_ms"]
    result = {"encoder": [{"batch": 1, "ms_per_question": 6.0, "cpu_ms_per_question": 8.0},
                          {"batch": 16, "ms_per_question": 4.0, "cpu_ms_per_question": 4.0}],
              "identity": {"questions": 3, "bitwise_identical": 3, "max_abs_difference": 0.0},
              "sweep": [{"clients": 4, "config": "plain", "per_s": 10.0, "cpu_ms_per_answer": 10.0,
                         "cpu_over_plain": 1.0, "p50_ms": 1.0, "p95_ms": 2.0}]}
    rows = batching_rows(result)
    assert rows[1] == ("encoder, batch 16, CPU ms per question", "4.0", "wall 4.0", "0.5x batch 1", "")
    assert rows[2] == ("batched vector == alone (bitwise)", "3 of 3", "max diff 0.0e+00", "", "all")
