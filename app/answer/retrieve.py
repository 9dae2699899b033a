"""Retrieve: hybrid search over chunks, dense (FAISS) and BM25 (bm25s), fused.

Every candidate from either side gets both raw scores (cosine from its stored vector, BM25 from the
full score vector), then the two are fused. `relative` fusion min-max scales each side over the
candidates and mixes them with `dense_weight`; `rrf` is reciprocal rank fusion (k=60).

>>> fuse_relative([0.9, 0.5], [0.0, 4.0], 0.5)
[0.5, 0.5]
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from app.index.chunk import Chunk
from app.index.store import Index

FUSIONS = ("relative", "rrf")
RRF_K = 60


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and both raw scores."""

    row: int
    chunk: Chunk
    score: float
    dense: float
    bm25: float

    def to_dict(self) -> dict:
        c = self.chunk
        return {"doc": c.doc, "start": c.start, "end": c.end, "paragraph": c.paragraph, "score": round(self.score, 6)}


def _minmax(values: np.ndarray) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    return np.ones_like(values) if hi - lo < 1e-12 else (values - lo) / (hi - lo)


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The rows of the n highest scores, best first, ties by row: exactly
    `np.argsort(-scores, kind="stable")[:n]`, in linear time (a full sort of a million BM25 scores
    costs ~80 ms; this costs a few).

    >>> top_rows(np.array([1.0, 3.0, 3.0, 2.0]), 2).tolist()
    [1, 2]
    """
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n >= len(scores):
        return np.argsort(-scores, kind="stable")
    kth = scores[np.argpartition(-scores, n - 1)[n - 1]]  # the n-th highest value
    above = np.flatnonzero(scores > kth)
    ties = np.flatnonzero(scores == kth)[:n - len(above)]
    rows = np.concatenate([above, ties])
    return rows[np.argsort(-scores[rows], kind="stable")]


def fuse_relative(dense: list[float], bm25: list[float], dense_weight: float) -> list[float]:
    """Min-max each side over the candidates (BM25 from zero), then mix."""
    d = _minmax(np.asarray(dense, dtype=np.float64))
    b = np.asarray(bm25, dtype=np.float64)
    b = b / b.max() if b.max() > 0 else np.zeros_like(b)
    return [round(float(x), 12) for x in dense_weight * d + (1 - dense_weight) * b]


def fuse_rrf(dense: list[float], bm25: list[float]) -> list[float]:
    """Reciprocal rank fusion of the two rankings."""
    def ranks(values: list[float]) -> np.ndarray:
        order = np.argsort(-np.asarray(values), kind="stable")
        r = np.empty(len(values))
        r[order] = np.arange(1, len(values) + 1)
        return r
    return list(1 / (RRF_K + ranks(dense)) + 1 / (RRF_K + ranks(bm25)))


class Retriever:
    """Searches one loaded index; the query vector and tokens are computed by the caller."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def allowed_rows(self, docs: list[str] | None) -> np.ndarray | None:
        if not docs:
            return None
        wanted = set(docs)
        return np.array([i for i, c in enumerate(self.index.chunks) if c.doc in wanted], dtype=np.int64)

    def dense_candidates(self, query_vec: np.ndarray, n: int, allowed: np.ndarray | None) -> list[int]:
        import faiss

        n = min(n, self.index.faiss_index.ntotal if allowed is None else len(allowed))
        if n <= 0:
            return []
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
            params = faiss.SearchParametersHNSW(sel=selector) if self.index.manifest.faiss_type == "hnsw" \
                else faiss.SearchParameters(sel=selector)
        _, ids = self.index.faiss_index.search(query_vec.reshape(1, -1), n, params=params)
        return [int(i) for i in ids[0] if i >= 0]

    def search(self, query_vec: np.ndarray, tokens: list[str], k: int, mode: str = "hybrid",
               candidates: int = 50, dense_weight: float = 0.5, fusion: str = "relative",
               docs: list[str] | None = None, timings: dict[str, float] | None = None,
               lexical: frozenset[str] | None = None) -> list[Hit]:
        """Top-k chunks for a query. `docs` limits the search to those documents; `lexical` the BM25 side
        to these (the documents in the question's language; None: all, empty: dense only).

        With `timings`, the seconds spent in each stage are stored there under "dense" (FAISS),
        "bm25" (scoring and top candidates) and "fusion" (both raw scores, fusion, de-duplication).
        """
        if fusion not in FUSIONS:
            raise ValueError(f"fusion {fusion!r} is not one of {', '.join(FUSIONS)}")
        t0 = time.perf_counter()
        if lexical is not None:
            lexical = lexical & set(docs) if docs else lexical
            if not lexical:
                mode = "dense" if mode == "hybrid" else mode  # no document shares the question's language
        allowed = self.allowed_rows(docs)
        if allowed is not None and len(allowed) == 0:
            return []
        rows: list[int] = []
        if mode != "bm25":
            rows = self.dense_candidates(query_vec, candidates, allowed)
        t1 = time.perf_counter()
        bm25_all = self.index.bm25.scores(tokens) if mode != "dense" else None
        if mode != "dense":
            keep = allowed if not lexical else self.allowed_rows(sorted(lexical))
            masked = bm25_all if keep is None else np.full_like(bm25_all, -1.0)
            if keep is not None:
                bm25_all = np.where(np.isin(np.arange(len(bm25_all)), keep), bm25_all, 0.0)
                masked[keep] = bm25_all[keep]
            dense_rows = set(rows)
            rows += [int(r) for r in top_rows(masked, candidates) if masked[r] > 0 and int(r) not in dense_rows]
        t2 = time.perf_counter()
        if timings is not None:
            timings.update({"dense": t1 - t0, "bm25": t2 - t1, "fusion": 0.0})
        if not rows:
            return []
        dense = (self.index.chunk_vectors[rows] @ query_vec).astype(np.float64).tolist()
        bm25 = [float(bm25_all[r]) for r in rows] if bm25_all is not None else [0.0] * len(rows)
        if mode == "dense":
            fused = dense
        elif mode == "bm25":
            fused = bm25
        elif fusion == "rrf":
            fused = fuse_rrf(dense, bm25)
        else:
            fused = fuse_relative(dense, bm25, dense_weight)
        hits = self.distinct_hits(rows, fused, dense, bm25, k)
        if timings is not None:
            timings["fusion"] = time.perf_counter() - t2
        return hits

    def distinct_hits(self, rows: list[int], fused: list[float], dense: list[float], bm25: list[float],
                      k: int) -> list[Hit]:
        """The best `k` rows by fused score (ties by row), the same text in several documents counted once."""
        hits: list[Hit] = []
        seen: set[str] = set()
        for i in sorted(range(len(rows)), key=lambda i: (-fused[i], rows[i])):
            chunk = self.index.chunks[rows[i]]
            key = " ".join(chunk.text.lower().split())
            if key in seen:  # the same boilerplate in several documents counts once
                continue
            seen.add(key)
            hits.append(Hit(rows[i], chunk, float(fused[i]), float(dense[i]), float(bm25[i])))
            if len(hits) == k:
                break
        return hits
