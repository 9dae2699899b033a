"""Ranking across documents: a passage's score fused with its whole document's lexical score and title.

Retrieval ranks passages; across many documents a document is then ranked by its best passage
only. `DocumentScorer` keeps two small bm25s indexes beside the passage index, one over each
document's whole text and one over its title, and `rescore` mixes them into every hit:

    score = (1 - doc_weight - title_weight) * passage + doc_weight * doc_bm25 + title_weight * title_bm25

with each BM25 side divided by its highest value over the documents of the hits (as the passage
fusion scales BM25). A corpus of one document is unchanged: every hit gets the same document score.

>>> from app.index.ingest import document_from_text
>>> docs = [document_from_text("a.txt", "Cats purr. Cats sleep.", title="Cats"),
...         document_from_text("b.txt", "Dogs bark at cats.", title="Dogs")]
>>> scorer = DocumentScorer(docs)
>>> # by hand (Lucene BM25, k1=1.5, b=0.75): idf ln(1.2); tf 2 of 4 tokens, tf 1 of 3, avgdl 3.5
>>> [round(float(x), 3) for x in scorer.scores(["cat"])]
[0.1, 0.078]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from app.answer.retrieve import Hit
from app.index.ingest import Document
from app.index.lexical import BM25Index


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


def rank_documents_by_hits(hits: list[Hit], depth: int) -> list[str]:
    """Document names, best first, each ranked by its best hit."""
    ranked: list[str] = []
    seen: set[str] = set()
    for hit in hits:
        if hit.chunk.doc not in seen:
            seen.add(hit.chunk.doc)
            ranked.append(hit.chunk.doc)
            if len(ranked) == depth:
                break
    return ranked
