"""Bench section "engines": index builds side by side on the same texts, and what limits scale.

    verbatim bench --sections engines --engine-passages 2000 --out bench-engines.json

- builds: in-process vs Ray with 1 and 2 workers (a local runtime), passages/s, the ratio to
  in-process, peak driver RSS sampled during each build, Ray's per-batch worker seconds;
- resume: a build killed at ~50% of its batches, then finished, against a full build;
- encoders: batch encoding on torch (sentence-transformers) vs onnxruntime (fp32) for chunk- and
  sentence-length texts, per batch size and thread count, with the largest vector difference;
- limits: the driver's merge (checkpoint shards into the final matrix) and the FAISS HNSW add,
  at `scale_vectors` synthetic unit vectors.

Passages are SciFact abstracts (each one document: chunks and sentences are embedded); figures
are medians over repeats, ratios against a baseline measured in the same process.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

BUILD_BATCH = 32  # the batch size builds encode with (Embedder.encode's default)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples this process's resident memory every 20 ms; `peak_mb` is the highest seen."""

    def __enter__(self) -> PeakRss:
        self.peak_mb = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, _rss_mb())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = round(max(self.peak_mb, _rss_mb()), 1)


def _remove(index: Path) -> None:
    shutil.rmtree(Path(f"{index}.builds"), ignore_errors=True)
    if index.is_symlink():
        index.unlink()


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def bench_builds(documents: list, model_name: str, work_dir: Path, workers: tuple[int, ...] = (1, 2),
                 repeats: int = 1, batch_texts: int = 256) -> dict:
    """In-process and Ray builds of the same documents: passages/s, ratio to in-process, driver memory."""
    from app.index.build import InProcessEngine, build_index
    from app.index.build_ray import RayEngine, default_factory
    from app.index.encoders import encoder
    from app.index.store import read_manifest
    from app.settings import MODEL_NAME

    embedder = encoder(model_name, "build")
    embedder.encode(["warm-up"])
    engines: dict[str, Callable[[], object]] = {"in-process": lambda: InProcessEngine(embedder, batch_texts)}
    if model_name == MODEL_NAME:  # the encoder builds used before ONNX, measured in the same run
        torch_embedder = encoder(model_name, "build", backend="torch")
        torch_embedder.encode(["warm-up"])
        engines["in-process-torch"] = lambda: InProcessEngine(torch_embedder, batch_texts)
    for n in workers:
        engines[f"ray-{n}"] = lambda n=n: RayEngine(default_factory(model_name), workers=n, batch_texts=batch_texts)
    runs: dict[str, dict[str, list]] = {name: {"seconds": [], "peak_rss_mb": [], "stats": [], "serial": []}
                                        for name in engines}
    texts = 0
    for r in range(repeats):
        for name, make in engines.items():  # interleaved, so load on the machine hits every engine alike
            index = work_dir / f"engines-{name}-{r}"
            engine = make()
            with PeakRss() as rss:
                t0 = time.perf_counter()
                built = build_index(index, engine.embedder if isinstance(engine, InProcessEngine) else embedder,
                                 documents=documents, engine=engine)
                seconds = time.perf_counter() - t0
            texts = built.texts_embedded
            runs[name]["seconds"].append(seconds)
            runs[name]["peak_rss_mb"].append(rss.peak_mb)
            runs[name]["stats"].append(getattr(engine, "stats", {}))
            m = read_manifest(index).raw["build"]  # the driver's serial parts: plan (chunking), then merge and write
            runs[name]["serial"].append({"plan_seconds": m["plan_seconds"], "embed_seconds": m["embed_seconds"],
                                         "after_embed_seconds": round(seconds - m["plan_seconds"]
                                                                      - m["embed_seconds"], 3)})
            log.info("engines: %s %.1f s", name, seconds)
            _remove(index)
    base = len(documents) / _median(runs["in-process"]["seconds"])
    out = {}
    for name, run in runs.items():
        rate = len(documents) / _median(run["seconds"])
        out[name] = {"seconds": round(_median(run["seconds"]), 2), "passages_per_s": round(rate, 2),
                     "texts_per_s": round(texts / _median(run["seconds"]), 1),
                     "ratio_to_in_process": round(rate / base, 3), "peak_driver_rss_mb": max(run["peak_rss_mb"]),
                     "engine_stats": run["stats"][-1], "driver": run["serial"][-1]}
    return {"passages": len(documents), "texts_embedded": texts, "repeats": repeats, "batch_texts": batch_texts,
            "model": model_name, "builds": out}


class _StopAfter:
    """An in-process engine that stops (raises) after `batches` batches: a build killed midway."""

    name, workers = "in-process", 1

    def __init__(self, inner, batches: int) -> None:
        self.inner, self.batches = inner, batches

    def embed(self, items, sink) -> None:
        done = 0

        def counted(keys, vectors):
            nonlocal done
            sink(keys, vectors)
            done += 1
            if done == self.batches:
                raise KeyboardInterrupt("stopped at half")

        self.inner.embed(items, counted)


def bench_resume(documents: list, model_name: str, work_dir: Path, batch_texts: int = 256) -> dict:
    """A full build, then a build stopped at ~50% of its batches and finished by a second run."""
    from app.index.build import InProcessEngine, build_index
    from app.index.encoders import encoder

    embedder = encoder(model_name, "build")
    embedder.encode(["warm-up"])
    t0 = time.perf_counter()
    full = build_index(work_dir / "resume-full", embedder, documents=documents,
                       engine=InProcessEngine(embedder, batch_texts))
    full_s = time.perf_counter() - t0
    _remove(work_dir / "resume-full")
    batches = -(-full.texts_embedded // batch_texts)
    index = work_dir / "resume-killed"
    t0 = time.perf_counter()
    try:
        build_index(index, embedder, documents=documents,
                    engine=_StopAfter(InProcessEngine(embedder, batch_texts), max(1, batches // 2)))
    except KeyboardInterrupt:
        pass
    killed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    resumed = build_index(index, embedder, documents=documents, engine=InProcessEngine(embedder, batch_texts))
    resume_s = time.perf_counter() - t0
    _remove(index)
    return {"passages": len(documents), "texts": full.texts_embedded, "full_build_seconds": round(full_s, 2),
            "killed_after_seconds": round(killed_s, 2), "resumed_texts": resumed.texts_resumed,
            "embedded_after_restart": resumed.texts_embedded, "finish_after_restart_seconds": round(resume_s, 2),
            "finish_over_full": round(resume_s / full_s, 3),
            "killed_plus_finish_over_full": round((killed_s + resume_s) / full_s, 3)}


def bench_encoders(chunk_texts: list[str], sentence_texts: list[str], batch_sizes: tuple[int, ...] = (32, 128),
                   threads: tuple[int, ...] = (1, 2), repeats: int = 3) -> dict:
    """Batch encoding on torch vs onnxruntime fp32: texts/s per (kind, batch size, threads), max |difference|."""
    import torch

    from app.index.encoders import encoder
    from app.settings import MODEL_NAME

    st = encoder(MODEL_NAME, "build", backend="torch")
    onnx = {t: encoder(MODEL_NAME, "build", backend="onnx", threads=t) for t in threads}
    kinds = {"chunks": chunk_texts, "sentences": sentence_texts}
    st.encode(chunk_texts[:4])
    for o in onnx.values():
        o.encode(chunk_texts[:4])
    torch_threads = torch.get_num_threads()
    times: dict[tuple, list[float]] = {}
    diffs: dict[tuple, float] = {}
    try:
        for _ in range(repeats):
            for kind, texts in kinds.items():
                for b in batch_sizes:
                    for t in threads:
                        torch.set_num_threads(t)
                        t0 = time.perf_counter()
                        a = st.encode(texts, batch_size=b)
                        times.setdefault((kind, b, t, "torch"), []).append(time.perf_counter() - t0)
                        t0 = time.perf_counter()
                        o = onnx[t].encode(texts, batch_size=b)
                        times.setdefault((kind, b, t, "onnx"), []).append(time.perf_counter() - t0)
                        diffs[(kind, b, t)] = max(diffs.get((kind, b, t), 0.0), float(np.abs(a - o).max()))
                        log.info("encoders: %s batch %d threads %d: torch %.1f s, onnx %.1f s", kind, b, t,
                                 times[(kind, b, t, "torch")][-1], times[(kind, b, t, "onnx")][-1])
    finally:
        torch.set_num_threads(torch_threads)
    rows = []
    for (kind, b, t), diff in diffs.items():
        n = len(kinds[kind])
        torch_rate = n / _median(times[(kind, b, t, "torch")])
        onnx_rate = n / _median(times[(kind, b, t, "onnx")])
        rows.append({"texts": kind, "n": n, "batch_size": b, "threads": t, "torch_per_s": round(torch_rate, 1),
                     "onnx_per_s": round(onnx_rate, 1), "onnx_over_torch": round(onnx_rate / torch_rate, 3),
                     "max_abs_diff": float(f"{diff:.2e}")})
    exact = all(r["max_abs_diff"] <= 1e-5 for r in rows)
    faster = all(r["onnx_over_torch"] > 1.0 for r in rows if r["batch_size"] == BUILD_BATCH)
    return {"repeats": repeats, "rows": rows, "within_1e-5": exact, "onnx_faster_at_build_batch": faster,
            "adopt_onnx_for_builds": exact and faster}


def bench_limits(vectors: int, dim: int = 384, shard: int = 256) -> dict:
    """What stays on one machine: merging checkpoint shards into the final matrix, and the HNSW add."""
    import tempfile

    from app.index.checkpoint import Checkpoint
    from app.index.store_write import make_faiss_index

    rng = np.random.default_rng(0)
    data = rng.standard_normal((vectors, dim), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    keys = [f"{i:032x}" for i in range(vectors)]
    with tempfile.TemporaryDirectory(prefix="verbatim-limits-") as tmp:
        cp = Checkpoint.open(Path(tmp), "bench", dim, {})
        t0 = time.perf_counter()
        for i in range(0, vectors, shard):
            cp.add(keys[i:i + shard], data[i:i + shard])
        write_s = time.perf_counter() - t0
        out = np.zeros_like(data)
        t0 = time.perf_counter()
        Checkpoint.open(Path(tmp), "bench", dim, {}).fill(keys, out, np.arange(vectors))
        merge_s = time.perf_counter() - t0
        assert np.array_equal(out, data)
    del out
    t0 = time.perf_counter()
    _, info = make_faiss_index(data, "hnsw", 0)
    hnsw_s = time.perf_counter() - t0
    return {"vectors": vectors, "dim": dim, "checkpoint_write_seconds": round(write_s, 2),
            "merge_seconds": round(merge_s, 2), "merge_vectors_per_s": round(vectors / merge_s),
            "hnsw_add_seconds": round(hnsw_s, 1), "hnsw_add_vectors_per_s": round(vectors / hnsw_s),
            "hnsw": info["params"], "faiss_threads": _faiss_threads()}


def _faiss_threads() -> int:
    import faiss

    return faiss.omp_get_max_threads()


def bench_engines(documents: list, model_name: str, work_dir: Path, *, workers: tuple[int, ...] = (1, 2),
                  repeats: int = 1, scale_vectors: int = 200_000, encoders: bool = True) -> dict:
    """Every part of the section; one dict for the bench JSON."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    result: dict = {}
    if encoders:
        from app.index.chunk import chunk_document
        from app.settings import BuildSettings

        chunks, sentences = [], []
        for d in documents[:150]:
            cs, ss = chunk_document(d, BuildSettings())
            chunks += [c.text for c in cs]
            sentences += [d.text[s.start:s.end] for s in ss]
        log.info("engines: encoders on %d chunks, %d sentences", len(chunks[:256]), len(sentences[:512]))
        result["encoders"] = bench_encoders(chunks[:256], sentences[:512], repeats=max(repeats, 2))
    log.info("engines: builds of %d passages", len(documents))
    result["builds"] = bench_builds(documents, model_name, work_dir, workers, repeats)
    result["resume"] = bench_resume(documents, model_name, work_dir)
    if scale_vectors:
        log.info("engines: merge and HNSW add at %d vectors", scale_vectors)
        result["limits"] = bench_limits(scale_vectors)
    return result


def engine_rows(e: dict) -> list[tuple[str, str, str, str, str]]:
    """Rows for bench's text table."""
    rows = []
    if "encoders" in e:
        for r in e["encoders"]["rows"]:
            rows.append((f"encode {r['texts']} b={r['batch_size']} t={r['threads']} texts/s",
                         f"onnx {r['onnx_per_s']}", f"torch {r['torch_per_s']}", f"{r['onnx_over_torch']}x",
                         f"diff {r['max_abs_diff']:.1e} <= 1e-5"))
    b = e.get("builds")
    if b:
        for name, r in b["builds"].items():
            rows.append((f"build {b['passages']} passages, {name}", f"{r['passages_per_s']} passages/s",
                         f"driver peak {r['peak_driver_rss_mb']} MB", f"{r['ratio_to_in_process']}x",
                         ">= 0.85x" if name.startswith("ray") else ""))
    if "resume" in e:
        r = e["resume"]
        rows.append(("resume after kill at ~50%", f"{r['finish_after_restart_seconds']} s",
                     f"full build {r['full_build_seconds']} s", f"{r['finish_over_full']}x",
                     f"reused {r['resumed_texts']} of {r['texts']}"))
    if "limits" in e:
        r = e["limits"]
        rows.append((f"driver merge of {r['vectors']:,} vectors", f"{r['merge_seconds']} s",
                     f"{r['merge_vectors_per_s']:,}/s", "", ""))
        rows.append((f"HNSW add of {r['vectors']:,} vectors", f"{r['hnsw_add_seconds']} s",
                     f"{r['hnsw_add_vectors_per_s']:,}/s, {r['faiss_threads']} threads", "", ""))
    return rows
