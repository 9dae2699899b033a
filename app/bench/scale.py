"""Scale benchmark: the product's FAISS and BM25 indexes at 100k and 1M passages.

Embedding a million real passages would take this machine about a day, so the search side uses
SYNTHETIC 384-d unit vectors, and BM25 uses SYNTHETIC text; the output says so. The vectors come
from a clustered latent-factor model, closer to sentence embeddings than uniform noise (which has
no near neighbours at all): 2,000 cluster centres in a 48-d latent space, each point its centre
plus Gaussian spread, mapped to 384-d by a fixed random matrix, plus 384-d noise, L2-normalised.
Queries are fresh draws from the same distribution. The text is Zipf-distributed pseudo-words
(60 per passage, 50,000 distinct), tokenised with the product's own tokenizer.

For each size: the index type `store_write.make_faiss_index` picks ("auto"), its build time and memory,
search p50/p95 over single queries, recall@10 against exact search (`faiss.knn`), and exact
search's own latency as the baseline; then an efSearch sweep for HNSW. BM25: index time and
query p50/p95 through `lexical.BM25Index` and `retrieve.top_rows` (the product's path), against
a full argsort of the scores.

    python -m app.bench.scale --sizes 100000,1000000 --out scale.json
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DIM = 384
LATENT, CENTRES, SPREAD, NOISE = 48, 2_000, 0.6, 0.25
K = 10
QUERIES = 500
EF_SWEEP = (16, 32, 64, 128, 256)
WORDS_PER_PASSAGE, VOCAB = 60, 50_000
SYNTHETIC_NOTE = ("synthetic data: clustered latent-factor 384-d unit vectors (not real embeddings) "
                  "and Zipf pseudo-word text (not real passages)")


def synthetic_vectors(n: int, seed: int = 0, block: int = 100_000) -> np.ndarray:
    """n float32 unit vectors from the clustered latent-factor model (deterministic per seed).

    >>> v = synthetic_vectors(5)
    >>> v.shape, bool(np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5))
    ((5, 384), True)
    """
    model = np.random.default_rng(12345)  # the distribution is fixed; `seed` picks the sample
    mix = model.standard_normal((LATENT, DIM)).astype(np.float32) / np.sqrt(LATENT)
    centres = model.standard_normal((CENTRES, LATENT)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for lo in range(0, n, block):
        b = min(block, n - lo)
        z = centres[rng.integers(CENTRES, size=b)] + SPREAD * rng.standard_normal((b, LATENT), dtype=np.float32)
        x = z @ mix + NOISE * rng.standard_normal((b, DIM), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[lo:lo + b] = x
    return out


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    """n passages of Zipf-distributed pseudo-words ("kabo", "rilu", ...)."""
    rng = np.random.default_rng(seed)
    syll = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]  # 70 syllables
    words = np.array(["".join(syll[(i // 70 ** j) % 70] for j in range(3)) for i in range(VOCAB)])
    p = 1.0 / np.arange(1, VOCAB + 1) ** 1.07
    p /= p.sum()
    out: list[str] = []
    for lo in range(0, n, 100_000):
        ids = rng.choice(VOCAB, size=(min(100_000, n - lo), WORDS_PER_PASSAGE), p=p)
        out.extend(" ".join(row) for row in words[ids])
    return out


def rss_mb() -> float:
    """Current resident memory of this process, in MB (Linux /proc; 0.0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except OSError:
        return 0.0


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = K) -> float:
    """Mean share of each query's exact top-k that the approximate top-k found.

    >>> recall_at_k(np.array([[1, 2], [3, 4]]), np.array([[2, 1], [3, 5]]), 2)
    0.75
    """
    hits = sum(len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth, strict=True))
    return hits / (len(truth) * k)


def _time_single(search, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    """Each query searched alone (as a user's question is); seconds per query and the ids found."""
    times, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, i = search(q.reshape(1, -1))
        times.append(time.perf_counter() - t0)
        ids.append(i[0])
    return times, np.array(ids)


def bench_faiss(n: int, queries: int = QUERIES, hnsw_threshold: int | None = None) -> dict:
    """Build the index the product picks for n vectors; latency, recall@10, memory; efSearch sweep."""
    import faiss

    from app.bench.common import summarize
    from app.index.store_write import make_faiss_index
    from app.settings import BuildSettings

    threshold = hnsw_threshold or BuildSettings().hnsw_threshold
    t0 = time.perf_counter()
    xb = synthetic_vectors(n, seed=1)
    xq = synthetic_vectors(queries, seed=2)
    gen_s = time.perf_counter() - t0
    _, truth = faiss.knn(xq, xb, K, metric=faiss.METRIC_INNER_PRODUCT)
    exact_times, _ = _time_single(lambda q: faiss.knn(q, xb, K, metric=faiss.METRIC_INNER_PRODUCT), xq[:50])
    rss0 = rss_mb()
    t0 = time.perf_counter()
    index, info = make_faiss_index(xb, "auto", threshold)
    build_s = time.perf_counter() - t0
    index_rss = rss_mb() - rss0
    index.search(xq[:20], K)  # warm-up
    times, found = _time_single(lambda q: index.search(q, K), xq)
    s, e = summarize(times), summarize(exact_times)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # one query needs no thread team; on a busy machine a team costs a lot
    one = summarize(_time_single(lambda q: index.search(q, K), xq[:200])[0])
    faiss.omp_set_num_threads(threads)
    row = {"passages": n, "index_type": info["type"], "params": info["params"], "threads": threads,
           "build_seconds": round(build_s, 2), "generate_seconds": round(gen_s, 2),
           "vectors_mb": round(xb.nbytes / 2**20, 1), "index_rss_growth_mb": round(index_rss, 1),
           "search_p50_ms": s["p50_ms"], "search_p95_ms": s["p95_ms"], "recall@10": round(recall_at_k(found, truth), 4),
           "search_1thread_p50_ms": one["p50_ms"], "search_1thread_p95_ms": one["p95_ms"],
           "exact_p50_ms": e["p50_ms"], "exact_p95_ms": e["p95_ms"],
           "speedup_over_exact": round(e["p50_ms"] / s["p50_ms"], 1) if s["p50_ms"] else None, "queries": len(xq)}
    if info["type"] == "hnsw":
        sweep = []
        for ef in EF_SWEEP:
            index.hnsw.efSearch = ef
            t, f = _time_single(lambda q: index.search(q, K), xq)
            st = summarize(t)
            sweep.append({"efSearch": ef, "p50_ms": st["p50_ms"], "p95_ms": st["p95_ms"],
                          "recall@10": round(recall_at_k(f, truth), 4)})
        row["efSearch_sweep"] = sweep
    return row  # the index and vectors are freed here


def bench_bm25(n: int, queries: int = 200, candidates: int = 50) -> dict:
    """The product's BM25 index over n synthetic passages: index time, query p50/p95, top-k cost."""
    from app.bench.common import summarize
    from app.index.lexical import BM25Index, tokenize_many
    from app.index.search import top_rows

    texts = synthetic_texts(n, seed=3)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    index = BM25Index.build(texts)
    index_s = time.perf_counter() - t0
    rss1 = rss_mb()
    rng = np.random.default_rng(4)
    qtexts = [" ".join(t.split()[j] for j in rng.choice(WORDS_PER_PASSAGE, 5, replace=False))
              for t in (texts[i] for i in rng.integers(n, size=queries))]
    del texts
    qtokens = tokenize_many(qtexts)
    score_t, top_t, sort_t = [], [], []
    for toks in qtokens:
        t0 = time.perf_counter()
        scores = index.scores(toks)
        t1 = time.perf_counter()
        fast = top_rows(scores, candidates)
        t2 = time.perf_counter()
        slow = np.argsort(-scores, kind="stable")[:candidates]
        t3 = time.perf_counter()
        if not np.array_equal(fast, slow):
            raise AssertionError("top_rows differs from a stable argsort")
        score_t.append(t1 - t0)
        top_t.append(t2 - t1)
        sort_t.append(t3 - t2)
    q = summarize([a + b for a, b in zip(score_t, top_t, strict=True)])
    old = summarize([a + b for a, b in zip(score_t, sort_t, strict=True)])
    return {"passages": n, "words_per_passage": WORDS_PER_PASSAGE, "index_seconds": round(index_s, 2),
            "index_rss_growth_mb": round(rss1 - rss0, 1), "query_p50_ms": q["p50_ms"], "query_p95_ms": q["p95_ms"],
            "scoring_p50_ms": summarize(score_t)["p50_ms"], "top50_p50_ms": summarize(top_t)["p50_ms"],
            "full_argsort_query_p50_ms": old["p50_ms"], "queries": queries}


def run_scale(sizes: Sequence[int] = (100_000, 1_000_000), quick: bool = False) -> dict:
    """FAISS and BM25 rows for every size (quick: 200 queries)."""
    from app.bench.common import machine, memory_mb

    out = {"note": SYNTHETIC_NOTE, "machine": machine(), "faiss": [], "bm25": []}
    for n in sizes:
        log.info("FAISS at %d", n)
        out["faiss"].append(bench_faiss(n, queries=200 if quick else QUERIES))
        gc.collect()
        log.info("BM25 at %d", n)
        out["bm25"].append(bench_bm25(n))
    out["peak_rss_mb"] = memory_mb()
    out["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def scale_rows(scale: dict) -> list[tuple[str, str, str, str, str]]:
    """Table rows for `verbatim bench --scale`."""
    rows = []
    for r in scale["faiss"]:
        rows.append((f"FAISS {r['index_type']} {r['passages']:,} p50 / p95 ms",
                     f"{r['search_p50_ms']:.2f} / {r['search_p95_ms']:.2f}",
                     f"exact {r['exact_p50_ms']:.2f} ms, recall@10 {r['recall@10']:.3f}",
                     f"{r['speedup_over_exact']}x", "1M: <= 5 ms, >= 0.95"))
    for r in scale["bm25"]:
        rows.append((f"BM25 {r['passages']:,} query p50 / p95 ms", f"{r['query_p50_ms']:.2f} / "
                     f"{r['query_p95_ms']:.2f}", f"index {r['index_seconds']} s", "", ""))
    return rows


def main() -> None:
    import argparse

    from app.bench.common import render_table, write_json

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--out", type=Path, default=Path("scale.json"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    result = run_scale([int(s) for s in args.sizes.split(",")], quick=args.quick)
    write_json({"scale": result}, args.out)
    print(render_table(scale_rows(result), result["machine"]))
    print(f"\n{SYNTHETIC_NOTE}\n" + json.dumps(result["faiss"], indent=1))


if __name__ == "__main__":
    main()
