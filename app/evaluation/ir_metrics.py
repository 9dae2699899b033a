"""Ranking metrics with binary relevance, computed as BEIR (pytrec_eval) computes them.

Each function takes one query's ranked ids (best first, no duplicates expected) and the set of
relevant ids. Averaging over queries is the caller's job.

>>> recall_at_k(["a", "b", "c"], {"b", "z"}, 2)
0.5
>>> reciprocal_rank(["a", "b", "c"], {"b"})
0.5
>>> round(ndcg_at_k(["a", "b"], {"b"}, 10), 4)
0.6309
"""

from __future__ import annotations

import math

__all__ = ["recall_at_k", "reciprocal_rank", "ndcg_at_k"]


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k {k} must be at least 1")


def recall_at_k(ranked: list[str], relevant: set[str], k: int) -> float:
    """Share of the relevant ids found in the first k ranked ids (0.0 when nothing is relevant)."""
    _check_k(k)
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def reciprocal_rank(ranked: list[str], relevant: set[str]) -> float:
    """1 / rank of the first relevant id, or 0.0 when none is ranked."""
    for i, item in enumerate(ranked, start=1):
        if item in relevant:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: list[str], relevant: set[str], k: int) -> float:
    """nDCG@k with gain 1 per relevant id and discount 1/log2(rank + 1).

    The ideal DCG places min(|relevant|, k) relevant ids first. A repeated id counts once.
    """
    _check_k(k)
    if not relevant:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for i, item in enumerate(ranked[:k], start=1):
        if item in relevant and item not in seen:
            dcg += 1.0 / math.log2(i + 1)
        seen.add(item)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(relevant), k) + 1))
    return dcg / ideal
