"""Two more ways to rank documents by more than their best passage, on SciFact's tune half.

    OMP_NUM_THREADS=1 nice -n 5 python eval/experiments/doc_evidence.py [--half tune]

After the document mix (app/answer/ranking.py) and contextual chunk text
(eval/experiments/contextual_chunks.py) left SciFact where it was, two cheap ideas on the cached
index, each on top of the product's hybrid and document mix:

- `prf k b`: pseudo-relevance feedback on the query vector (Rocchio): the query plus b times the
  mean vector of the first k passages, normalised, searched again;
- `second g`: a document's score is its best passage's plus g times its second best (a document
  that answers in two passages is more likely on topic than one lucky passage);
- `bm25 k1 b`: both BM25 sides (passages and whole documents) rebuilt with other BM25 parameters
  than bm25s' defaults (k1 1.5, b 0.75).

Choices are made on the "tune" half (`app.evaluation.beir.query_half`) only. Writes JSON to --out.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
from scifact_half import open_half

from app.answer.ranking import DocumentScorer
from app.answer.retrieve import Hit, Retriever
from app.evaluation.beir import CANDIDATES, NDCG_K
from app.evaluation.ir_metrics import ndcg_at_k
from app.evaluation.uncertainty import mean_interval, paired_difference
from app.index.lexical import BM25Index, tokenize_many
from app.settings import AnswerSettings

PRF = [(k, b) for k in (3, 5, 10) for b in (0.25, 0.5, 1.0)]
SECOND = (0.1, 0.2, 0.3, 0.5)
BM25_PARAMS = [(k1, b) for k1 in (0.9, 1.2, 1.5, 2.0) for b in (0.4, 0.6, 0.75, 0.9) if (k1, b) != (1.5, 0.75)]


def bm25_with(texts: list[str], k1: float, b: float) -> BM25Index:
    import bm25s

    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.index(tokenize_many(texts), show_progress=False)
    return BM25Index(retriever)


def ranked_by_sum(hits: list[Hit], g: float, depth: int = 100) -> list[str]:
    """Documents by best passage score + g x second best."""
    best: dict[str, list[float]] = {}
    for h in hits:
        scores = best.setdefault(h.chunk.doc, [])
        if len(scores) < 2:
            scores.append(h.score)
    total = {d: s[0] + g * (s[1] if len(s) > 1 else 0.0) for d, s in best.items()}
    return sorted(total, key=lambda d: -total[d])[:depth]


def ranked(hits: list[Hit], depth: int = 100) -> list[str]:
    return ranked_by_sum(hits, 0.0, depth)


def main() -> None:
    run = open_half("eval/results/doc_evidence.json")
    embedder, queries, qrels, index = run.embedder, run.queries, run.qrels, run.index
    retriever, scorer = Retriever(index), DocumentScorer(index.documents)
    s = AnswerSettings()
    vectors = embedder.encode([q for _, q in queries], batch_size=64)
    tokens = tokenize_many([q for _, q in queries])

    def search(vec: np.ndarray, toks: list[str]) -> list[Hit]:
        hits = retriever.search(vec, toks, 2 * CANDIDATES, "hybrid", CANDIDATES, s.dense_weight)
        return scorer.rescore(hits, toks, s.doc_weight, s.title_weight)

    ndcg: dict[str, list[float]] = {}
    for i, (qid, _) in enumerate(queries):
        hits = search(vectors[i], tokens[i])
        ndcg.setdefault("today", []).append(ndcg_at_k(ranked(hits), qrels[qid], NDCG_K))
        for g in SECOND:
            ndcg.setdefault(f"second {g:g}", []).append(ndcg_at_k(ranked_by_sum(hits, g), qrels[qid], NDCG_K))
        for k, b in PRF:
            centroid = index.chunk_vectors[[h.row for h in hits[:k]]].mean(axis=0)
            vec = vectors[i] + b * centroid
            vec = (vec / np.linalg.norm(vec)).astype(np.float32)
            ndcg.setdefault(f"prf {k} {b:g}", []).append(ndcg_at_k(ranked(search(vec, tokens[i])), qrels[qid], NDCG_K))
    for k1, b in BM25_PARAMS:
        other = Retriever(replace(index, bm25=bm25_with([c.text for c in index.chunks], k1, b)))
        doc_scorer = DocumentScorer(index.documents)
        doc_scorer.text = bm25_with([d.text for d in index.documents], k1, b)
        for i, (qid, _) in enumerate(queries):
            hits = other.search(vectors[i], tokens[i], 2 * CANDIDATES, "hybrid", CANDIDATES, s.dense_weight)
            hits = doc_scorer.rescore(hits, tokens[i], s.doc_weight, s.title_weight)
            ndcg.setdefault(f"bm25 {k1:g} {b:g}", []).append(ndcg_at_k(ranked(hits), qrels[qid], NDCG_K))
    result = {
        "half": run.half, "queries": len(queries),
        "ndcg@10": {n: {"mean": float(np.mean(v)), "interval": list(mean_interval(v))} for n, v in ndcg.items()},
        "minus_today": {n: paired_difference(v, ndcg["today"]) for n, v in ndcg.items() if n != "today"},
    }
    run.out.parent.mkdir(parents=True, exist_ok=True)
    run.out.write_text(json.dumps(result, indent=1) + "\n")
    for n, d in sorted(result["minus_today"].items(), key=lambda kv: -kv[1]["difference"]):
        print(f"{n:14} {result['ndcg@10'][n]['mean']:.4f} {d}")
    print("today", result["ndcg@10"]["today"])


if __name__ == "__main__":
    main()
