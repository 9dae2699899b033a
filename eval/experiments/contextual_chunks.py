"""Does a chunk embedded (and searched) with its document's title help ranking across documents?

    OMP_NUM_THREADS=2 nice -n 5 python eval/experiments/contextual_chunks.py [--half tune]

A passage in the middle of a document seldom names what the document is about ("The patients
received...", "under the terms of the GNU Lesser General Public License"): its vector and its BM25
terms miss the document's subject. Contextual chunk text puts the document's title before every
chunk that does not already hold it, for the embedding and for BM25 only: quotes are still cut
from the source text at their offsets.

SciFact's shared queries (train qrels, 809 claims) are cut in two by `app.evaluation.beir.query_half`;
choices are made on the "tune" half (the default here). Variants, each scored with the product's
hybrid (dense weight 0.5) and its document mix (`AnswerSettings.doc_weight`, `title_weight`):

- `today`: the cached benchmark index as the `beir` suite builds it;
- `context dense`: chunk vectors of "title\\n\\nchunk" (chunks that hold the title keep theirs);
- `context dense + bm25`: the same, and BM25 over the same contextual texts.

The contextual vectors are cached under .cache/experiments/ (about 12,300 texts to embed: ~10-15
minutes on two idle cores the first time). Writes JSON to --out.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
from scifact_half import open_half

from app.answer.ranking import DocumentScorer
from app.answer.retrieve import Retriever
from app.evaluation.beir import (
    CANDIDATES,
    NDCG_K,
    rank_documents,
)
from app.evaluation.ir_metrics import ndcg_at_k
from app.evaluation.uncertainty import mean_interval, paired_difference
from app.index.lexical import BM25Index, join_hyphenated, tokenize_many
from app.index.store import Index
from app.index.store_write import make_faiss_index
from app.settings import PROJECT_ROOT, AnswerSettings


def contextual_texts(index: Index) -> tuple[list[int], list[str]]:
    """The rows of the chunks that do not hold their document's title, and their contextual texts."""
    rows, texts = [], []
    for row, chunk in enumerate(index.chunks):
        doc = index.document(chunk.doc)
        span = doc.title_span
        if span is None or (chunk.start <= span[0] and span[1] <= chunk.end):
            continue
        rows.append(row)
        texts.append(f"{doc.text[span[0]:span[1]].strip()}\n\n{join_hyphenated(chunk.text)}")
    return rows, texts


def with_context(index: Index, rows: list[int], texts: list[str], vectors: np.ndarray, bm25: bool) -> Index:
    matrix = index.chunk_vectors.copy()
    matrix[rows] = vectors
    faiss_index, _ = make_faiss_index(matrix, "flat", 10**9)
    lexical = index.bm25
    if bm25:
        full = [c.text for c in index.chunks]
        for r, t in zip(rows, texts, strict=True):
            full[r] = t
        lexical = BM25Index.build(full)
    return replace(index, chunk_vectors=matrix, faiss_index=faiss_index, bm25=lexical)


def main() -> None:
    run = open_half("eval/results/contextual_chunks.json")
    embedder, queries, qrels, index = run.embedder, run.queries, run.qrels, run.index
    rows, texts = contextual_texts(index)
    cache = PROJECT_ROOT / ".cache" / "experiments" / f"contextual-{index.path.name}.npy"
    if cache.is_file():
        vectors = np.load(cache, allow_pickle=False)
    else:
        print(f"embedding {len(texts):,} contextual chunk texts")
        vectors = embedder.encode(texts, batch_size=64)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors, allow_pickle=False)
    settings = AnswerSettings()
    config = ("hybrid", "relative", settings.dense_weight, settings.doc_weight, settings.title_weight)
    query_vectors = embedder.encode([q for _, q in queries], batch_size=64)
    tokens = tokenize_many([q for _, q in queries])
    variants = {"today": index, "context dense": with_context(index, rows, texts, vectors, bm25=False),
                "context dense + bm25": with_context(index, rows, texts, vectors, bm25=True)}
    ndcg: dict[str, list[float]] = {}
    for name, idx in variants.items():
        retriever, scorer = Retriever(idx), DocumentScorer(idx.documents)
        for i, (qid, _) in enumerate(queries):
            for suffix, cfg in (("", config), (", best passage only", (*config[:3], 0.0, 0.0))):
                ranked = rank_documents(retriever, query_vectors[i], tokens[i], cfg, CANDIDATES, scorer)
                ndcg.setdefault(name + suffix, []).append(ndcg_at_k(ranked, qrels[qid], NDCG_K))
    result = {
        "half": run.half, "queries": len(queries), "contextual_chunks": len(rows), "chunks": len(index.chunks),
        "ndcg@10": {n: {"mean": float(np.mean(v)), "interval": list(mean_interval(v))} for n, v in ndcg.items()},
        "minus_today": {n: paired_difference(v, ndcg["today"]) for n, v in ndcg.items() if n != "today"},
    }
    run.out.parent.mkdir(parents=True, exist_ok=True)
    run.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
