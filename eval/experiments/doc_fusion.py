"""Does ranking a document by more than its best passage help on SciFact?

    OMP_NUM_THREADS=1 nice -n 10 python eval/experiments/doc_fusion.py [--data ../shared/benchmarks/scifact]

SciFact's shared queries (train qrels, 809 judged claims) are cut in two halves by
`app.evaluation.beir.query_half`: the document-fusion weights are chosen on the "tune" half only,
and the chosen setting is then scored once on the "report" half against today's hybrid (a document
ranked by its best fused passage), with a paired-bootstrap 95% interval. Variants:

- `hybrid + doc a + title b`: each passage's fused score mixed with its document's whole-text BM25
  (weight a) and title BM25 (weight b), as `app.answer.ranking.DocumentScorer.rescore` does;
- `hybrid w=W + doc a + title 0`: the same with the passage fusion's dense weight W instead of the
  product's 0.5 (added in a second run, after the first report-half figure was seen: 2026-11-30);
- `dense max + doc 0.5`: the issue's orientation figure: max-passage dense cosine (min-max scaled)
  and whole-document BM25, half and half.

Uses the cached benchmark index (the `beir` suite builds it). Writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.answer.ranking import DocumentScorer, rank_documents_by_hits
from app.answer.retrieve import Retriever
from app.evaluation.beir import (
    BEIR_BUILD_SETTINGS,
    CANDIDATES,
    NDCG_K,
    beir_documents,
    judged_queries,
    query_half,
)
from app.evaluation.benchmark import benchmark_index
from app.evaluation.ir_metrics import ndcg_at_k
from app.evaluation.uncertainty import mean_interval, paired_difference
from app.index.embed import default_embedder
from app.index.lexical import tokenize_many
from app.settings import PROJECT_ROOT, AnswerSettings

DOC_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
TITLE_WEIGHTS = (0.0, 0.05, 0.1, 0.2)
DENSE_WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9)  # the passage fusion's dense weight (the product's is 0.5)


def _minmax(hits):
    scores = np.array([h.dense for h in hits])
    lo, hi = scores.min(), scores.max()
    return [replace(h, score=float((h.dense - lo) / (hi - lo)) if hi > lo else 1.0) for h in hits]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT.parent / "shared" / "benchmarks" / "scifact")
    parser.add_argument("--out", type=Path, default=Path("eval/results/doc_fusion.json"))
    args = parser.parse_args()
    embedder = default_embedder()
    queries, qrels = judged_queries(args.data, "train")
    documents = beir_documents(args.data)
    index = benchmark_index(args.data.name, args.data, documents, embedder, BEIR_BUILD_SETTINGS)
    retriever, scorer = Retriever(index), DocumentScorer(index.documents)
    weight = AnswerSettings().dense_weight
    vectors = embedder.encode([q for _, q in queries], batch_size=64)
    tokens = tokenize_many([q for _, q in queries])
    configs = [(a, b) for a in DOC_WEIGHTS for b in TITLE_WEIGHTS]
    dense_weights = [w for w in DENSE_WEIGHTS if w != weight]  # the hybrid's own dense weight is scored above
    ndcg: dict[str, list[float]] = {}
    for i, (qid, _) in enumerate(queries):
        hits = retriever.search(vectors[i], tokens[i], 2 * CANDIDATES, "hybrid", CANDIDATES, weight)
        for a, b in configs:
            ranked = rank_documents_by_hits(scorer.rescore(hits, tokens[i], a, b), 100)
            ndcg.setdefault(f"hybrid + doc {a:g} + title {b:g}", []).append(ndcg_at_k(ranked, qrels[qid], NDCG_K))
        for w in dense_weights:  # with the document's BM25 in, the passage's own mix may want more dense
            hits_w = retriever.search(vectors[i], tokens[i], 2 * CANDIDATES, "hybrid", CANDIDATES, w)
            for a in DOC_WEIGHTS:
                ranked = rank_documents_by_hits(scorer.rescore(hits_w, tokens[i], a, 0.0), 100)
                ndcg.setdefault(f"hybrid w={w:g} + doc {a:g} + title 0", []).append(
                    ndcg_at_k(ranked, qrels[qid], NDCG_K))
        dense = _minmax(retriever.search(vectors[i], tokens[i], 2 * CANDIDATES, "dense", CANDIDATES, weight))
        ranked = rank_documents_by_hits(scorer.rescore(dense, tokens[i], 0.5, 0.0), 100)
        ndcg.setdefault("dense max + doc 0.5", []).append(ndcg_at_k(ranked, qrels[qid], NDCG_K))
    halves = [query_half(qid) for qid, _ in queries]
    part = {h: [i for i, x in enumerate(halves) if x == h] for h in ("tune", "report")}
    baseline = "hybrid + doc 0 + title 0"
    tune = {name: float(np.mean([v[i] for i in part["tune"]])) for name, v in ndcg.items()}
    chosen = max(tune, key=lambda n: (tune[n], n == baseline))
    # the product keeps its passage fusion (dense weight 0.5) for a corpus of one: the best mix under it
    product = max((n for n in tune if n.startswith("hybrid + ")), key=lambda n: (tune[n], n == baseline))
    report = {name: [v[i] for i in part["report"]] for name, v in ndcg.items()}
    result = {
        "queries": {h: len(ix) for h, ix in part.items()},
        "tune_ndcg@10": dict(sorted(tune.items(), key=lambda kv: -kv[1])),
        "chosen_on_tune": chosen,
        "report_ndcg@10": {n: {"mean": float(np.mean(report[n])), "interval": list(mean_interval(report[n]))}
                           for n in (baseline, chosen, product, "dense max + doc 0.5")},
        "chosen_on_tune_at_the_products_dense_weight": product,
        "report_difference": {n: paired_difference(report[n], report[baseline])
                              for n in (chosen, product, "dense max + doc 0.5")},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "tune_ndcg@10"}, indent=1))
    for name, v in list(result["tune_ndcg@10"].items())[:8]:
        print(f"tune {name}: {v:.4f}")


if __name__ == "__main__":
    main()
