"""`verbatim bench` section "brief": reading a briefing from the index, against ranking it at ask time.

The ranking is stored at build time (app/index/briefing.py), so a briefing is a slice of it cut at a
word budget (app/answer/briefing.py). The baseline in the same run ranks the same document's
sentences at ask time (`rank_documents` on its rows) and then cuts: what storing the ranking saves.
Goal (issue 22): a briefing read from the index in at most 5 ms.
"""

from __future__ import annotations

import time

import numpy as np

from app.answer.briefing import briefing
from app.bench.common import GOALS, Row, ms, ratio, summarize
from app.index.briefing import rank_documents
from app.index.store import Index

BUDGETS = (100, 120, 200, 2000)


def _rank_now(index: Index, d: int) -> None:
    rows = np.flatnonzero(index.sentences[:, 0] == d)
    sentences = index.sentences[rows].copy()
    sentences[:, 0] = 0
    vectors = None if index.sentence_vectors is None else np.asarray(index.sentence_vectors[rows])
    rank_documents([index.documents[d]], sentences, vectors)


def bench_brief(index: Index, repeats: int) -> dict:
    """Median time of a briefing per document and budget, read from the index; and ranked at ask time."""
    docs = [d.doc for d in index.documents]
    read, ranked = [], []
    for _ in range(max(1, repeats)):
        for d, doc in enumerate(docs):
            for words in BUDGETS:
                t0 = time.perf_counter()
                briefing(index, doc, words)
                read.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _rank_now(index, d)
            briefing(index, doc, 120)
            ranked.append(time.perf_counter() - t0)
    stored, now = summarize(read), summarize(ranked)
    return {"documents": len(docs), "budgets": list(BUDGETS), "repeats": repeats, "read": stored,
            "ranked_at_ask_time": now, "read_p50_over_ranked_p50": ratio(stored["p50_ms"], now["p50_ms"]),
            "goal_read_ms": GOALS["brief_read_ms"]}


def brief_rows(b: dict) -> list[Row]:
    return [(f"briefing read from the index, {b['documents']} doc(s) x {len(b['budgets'])} budgets, p50 / p95 ms",
             ms(b["read"]), f"ranked at ask time {ms(b['ranked_at_ask_time'])}",
             f"{b['read_p50_over_ranked_p50']}x", f"<= {b['goal_read_ms']} ms")]
