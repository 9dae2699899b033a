"""Ranking metrics on hand-computed cases."""

import math

import pytest

from app.evaluation.ir_metrics import ndcg_at_k, recall_at_k, reciprocal_rank


def test_recall_at_k():
    ranked = ["d1", "d2", "d3", "d4"]
    assert recall_at_k(ranked, {"d2", "d4", "d9"}, 1) == 0.0
    assert recall_at_k(ranked, {"d2", "d4", "d9"}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, {"d2", "d4", "d9"}, 10) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, {"d1"}, 1) == 1.0
    assert recall_at_k(ranked, set(), 5) == 0.0
    assert recall_at_k([], {"d1"}, 5) == 0.0


def test_reciprocal_rank():
    assert reciprocal_rank(["a", "b", "c"], {"a"}) == 1.0
    assert reciprocal_rank(["a", "b", "c"], {"c", "b"}) == 0.5
    assert reciprocal_rank(["a", "b", "c"], {"z"}) == 0.0
    assert reciprocal_rank([], {"z"}) == 0.0


def test_ndcg_single_relevant():
    # relevant at rank 2: DCG = 1/log2(3); ideal = 1/log2(2) = 1
    assert ndcg_at_k(["x", "r"], {"r"}, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["r", "x"], {"r"}, 10) == 1.0
    # beyond the cutoff it counts for nothing
    assert ndcg_at_k(["x", "y", "r"], {"r"}, 2) == 0.0


def test_ndcg_several_relevant():
    # relevant at ranks 1 and 3 of {a, c, z}: DCG = 1 + 1/log2(4) = 1.5
    # ideal with 3 relevant in top 10: 1 + 1/log2(3) + 1/log2(4) = 2.130930
    value = ndcg_at_k(["a", "b", "c", "d"], {"a", "c", "z"}, 10)
    assert value == pytest.approx(1.5 / (1 + 1 / math.log2(3) + 0.5))
    assert value == pytest.approx(0.703918, abs=1e-6)


def test_ndcg_ideal_capped_at_k():
    # 3 relevant ids but k = 2: the ideal DCG is 1 + 1/log2(3), so two hits on top score 1.0
    assert ndcg_at_k(["a", "b", "c"], {"a", "b", "c"}, 2) == 1.0
    # one hit at rank 2 with k = 2: (1/log2(3)) / (1 + 1/log2(3)) = 0.386853
    assert ndcg_at_k(["x", "b"], {"a", "b", "c"}, 2) == pytest.approx(0.386853, abs=1e-6)


def test_ndcg_edge_cases():
    assert ndcg_at_k([], {"a"}, 10) == 0.0
    assert ndcg_at_k(["a"], set(), 10) == 0.0
    assert ndcg_at_k(["a", "a"], {"a", "b"}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a"}, 0)
    with pytest.raises(ValueError):
        recall_at_k(["a"], {"a"}, 0)
