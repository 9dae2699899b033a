"""Search: the passages of one loaded index for a query, the answer layer's one door into it per question.

`Searcher` holds the index and its query encoder (both from `app.index.verify.open_index`). Its `search`
encodes the query, tokenizes it in the question's language (app/index/lexical.py) and ranks the chunks:
dense (FAISS) and BM25 (bm25s), fused. Every candidate from either side gets both raw scores (cosine from
its stored vector, BM25 from the full score vector), then the two are fused. `relative` fusion min-max
scales each side over the candidates and mixes them with `dense_weight`; `rrf` is reciprocal rank fusion
(k=60). Across several documents, hybrid mode then mixes each passage's score with its whole document's
and its title's BM25 (`DocumentScorer`):

    score = (1 - doc_weight - title_weight) * passage + doc_weight * doc_bm25 + title_weight * title_bm25

with each BM25 side divided by its highest value over the documents of the hits (as the passage fusion
scales BM25). A corpus of one document is unchanged: every hit gets the same document score.

>>> fuse_relative([0.9, 0.5], [0.0, 4.0], 0.5)
[0.5, 0.5]
>>> from app.index.ingest import document_from_text
>>> docs = [document_from_text("a.txt", "Cats purr. Cats sleep.", title="Cats"),
...         document_from_text("b.txt", "Dogs bark at cats.", title="Dogs")]
>>> scorer = DocumentScorer(docs)
>>> # by hand (Lucene BM25, k1=1.5, b=0.75): idf ln(1.2); tf 2 of 4 tokens, tf 1 of 3, avgdl 3.5
>>> [round(float(x), 3) for x in scorer.scores(["cat"])]
[0.1, 0.078]
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.index.chunk import Chunk
from app.index.embed import Embedder
from app.index.ingest import Document
from app.index.lexical import BM25Index, tokenize
from app.index.store import Index
from app.settings import AnswerSettings

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


@dataclass(frozen=True)
class Found:
    """What a search found: the query's vector and tokens (quoting reads them again), and the passages."""

    vector: np.ndarray
    tokens: list[str]
    hits: list[Hit]  # best first


@dataclass(frozen=True, eq=False)
class Searcher:
    """Searches one loaded index with its query encoder (`encoder`: None when the caller brings vectors)."""

    index: Index
    encoder: Embedder | None = None

    def search(self, query: str, language: str, k: int, settings: AnswerSettings, mode: str | None = None,
               docs: list[str] | None = None, lexical: frozenset[str] | None = None,
               timings: dict[str, float] | None = None) -> Found:
        """The best `k` passages for `query`, a question in `language` (ISO 639-1): encoded, tokenized in its
        language, then `retrieve`d. With `timings`, the seconds spent encoding are stored there under
        "encode", beside `rank`'s stages."""
        t0 = time.perf_counter()
        vector = self.encoder.encode([query])[0]
        if timings is not None:
            timings["encode"] = time.perf_counter() - t0
        tokens = tokenize(query, language)
        return Found(vector, tokens, self.retrieve(vector, tokens, k, settings, mode, docs, lexical, timings))

    def retrieve(self, vector: np.ndarray, tokens: list[str], k: int, settings: AnswerSettings,
                 mode: str | None = None, docs: list[str] | None = None, lexical: frozenset[str] | None = None,
                 timings: dict[str, float] | None = None) -> list[Hit]:
        """The best `k` passages (`settings`: the mode when `mode` is None, the candidates and weights); in
        hybrid mode over several documents, each passage's score is mixed with its document's whole-text and
        title BM25 (`doc_weight`, `title_weight`) before the cut. `lexical`: the documents BM25 may score
        (those in the question's language; None: all)."""
        s = settings
        mode = mode or s.mode
        in_scope = len(set(docs)) if docs else len(self.index.documents)
        across = mode == "hybrid" and (s.doc_weight or s.title_weight) and in_scope > 1 and lexical is None
        pool = max(k, s.candidates) if across else k
        hits = self.rank(vector, tokens, pool, mode, s.candidates, s.dense_weight, docs=docs, timings=timings,
                         lexical=lexical)
        if across:
            hits = self.documents.rescore(hits, tokens, s.doc_weight, s.title_weight)
        return hits[:k]

    @functools.cached_property
    def documents(self) -> DocumentScorer:
        """Whole-document and title BM25 of this index (built on first use: a corpus of one never needs it)."""
        return DocumentScorer(self.index.documents)

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

    def rank(self, query_vec: np.ndarray, tokens: list[str], k: int, mode: str = "hybrid",
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


class DocumentScorer:
    """Whole-document and title BM25 over the documents of one index (row i = document i)."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.row = {d.doc: i for i, d in enumerate(documents)}
        languages = [d.language for d in documents]  # rescoring is for a question in their language
        self.text = BM25Index.build([d.text for d in documents], languages) if documents else None
        self.titles = BM25Index.build([d.title or d.doc for d in documents], languages) if documents else None

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 of each whole document for the query tokens."""
        return self.text.scores(tokens) if self.text is not None else np.zeros(0, np.float32)

    def title_scores(self, tokens: list[str]) -> np.ndarray:
        return self.titles.scores(tokens) if self.titles is not None else np.zeros(0, np.float32)

    def rescore(self, hits: list[Hit], tokens: list[str], doc_weight: float, title_weight: float = 0.0) -> list[Hit]:
        """The hits with document-fused scores, best first (ties by passage row)."""
        if not hits or (doc_weight == 0 and title_weight == 0):
            return hits
        rows = np.array([self.row[h.chunk.doc] for h in hits])
        doc = _scaled(self.scores(tokens)[rows]) if doc_weight else np.zeros(len(hits))
        title = _scaled(self.title_scores(tokens)[rows]) if title_weight else np.zeros(len(hits))
        passage_weight = 1.0 - doc_weight - title_weight
        fused = [round(passage_weight * h.score + doc_weight * float(d) + title_weight * float(t), 12)
                 for h, d, t in zip(hits, doc, title, strict=True)]
        order = sorted(range(len(hits)), key=lambda i: (-fused[i], hits[i].row))
        return [replace(hits[i], score=fused[i]) for i in order]


def _scaled(values: np.ndarray) -> np.ndarray:
    """Divided by the highest value (zeros stay zeros)."""
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values, dtype=np.float64)
