"""What the benchmark suites share: the cached index of a data set, a vector cache, the opening and
closing of a run (`BenchmarkRun`), and the files a run writes.

The index is cached in `.cache/benchmarks/<name>-<settings hash>/`; a re-run whose documents have the
same content hashes loads it instead of re-embedding (see `cached_index`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import numpy as np

from app.errors import IndexCorruptError, IndexNotFoundError, IndexStaleError
from app.files import write_atomic
from app.index.briefing import RANKING_SETTINGS
from app.index.build import build_index
from app.index.embed import Embedder
from app.index.encoders import calibration_changed, default_model, encoder
from app.index.ingest import Document
from app.index.store import Index, load_index, read_manifest
from app.runtime import Runtime
from app.settings import PROJECT_ROOT, AnswerSettings, BuildSettings

log = logging.getLogger(__name__)

DEFAULT_CACHE_ROOT = PROJECT_ROOT / ".cache" / "benchmarks"
SAVE_EVERY = 2048  # texts embedded between saves of the vector cache


class RunOptions(TypedDict, total=False):
    """The options every suite takes (`run_beir`, `run_squad`, `run_squad2`), by keyword: where to write the
    figures, where to cache the index, how many queries to keep, and the model and settings to use
    (the product's when absent)."""

    out_dir: Path | None
    cache_dir: Path | None
    limit: int | None
    embedder: Embedder | None
    build_settings: BuildSettings | None
    answer_settings: AnswerSettings | None


@dataclass
class BenchmarkRun:
    """The opening every suite shares: its data, model, settings and options (defaults filled in), the runtime
    its builds and assistants share (spaCy's pipeline and the language identifier load once a run), and a clock.

    `header()` is the keys every result starts with; `finish()` adds the total time and the markdown
    and writes the files."""

    suite: str
    data: Path
    embedder: Embedder
    build_settings: BuildSettings
    answer_settings: AnswerSettings
    out_dir: Path | None = None
    cache_dir: Path | None = None
    limit: int | None = None
    runtime: Runtime = field(default_factory=Runtime)
    started: float = field(default_factory=time.perf_counter)

    @classmethod
    def open(cls, suite: str, data: Path, options: RunOptions,
             default_build: BuildSettings | None = None) -> BenchmarkRun:
        unknown = sorted(set(options) - set(RunOptions.__annotations__))
        if unknown:
            known = ", ".join(RunOptions.__annotations__)
            raise TypeError(f"unknown option(s) {', '.join(unknown)}; a suite takes {known}")
        return cls(suite, Path(data), options.get("embedder") or encoder(default_model(), "build"),
                   options.get("build_settings") or default_build or BuildSettings(),
                   options.get("answer_settings") or AnswerSettings(),
                   options.get("out_dir"), options.get("cache_dir"), options.get("limit"))

    @property
    def dataset(self) -> str:
        """The data set's name: a folder's name, or a file's name without its suffix."""
        return self.data.stem

    def seconds(self) -> float:
        """Seconds since the run opened, to 0.1 s."""
        return round(time.perf_counter() - self.started, 1)

    def header(self) -> dict:
        return {"suite": self.suite, "data": str(self.data), "dataset": self.dataset}

    def index(self, name: str, documents: list[Document], cache_dir: Path | None = None) -> Index:
        """The suite's index of `documents`, cached under `cache_dir` (default: the run's)."""
        return benchmark_index(name, self.data, documents, self.embedder, self.build_settings,
                               cache_dir or self.cache_dir, self.runtime)

    def finish(self, result: dict, markdown: Callable[[dict], str], stem: str, rows: list[dict]) -> dict:
        result["seconds"]["total"] = self.seconds()
        result["markdown"] = markdown(result)
        if self.out_dir is not None:
            write_outputs(Path(self.out_dir), stem, result, rows)
        return result


def cache_folder(name: str, data_path: Path, embedder: Embedder, settings: BuildSettings,
                 cache_root: Path = DEFAULT_CACHE_ROOT) -> Path:
    """`<cache_root>/<name>-<hash>`: the hash covers the model, the chunking settings and the data path."""
    key = json.dumps({"model": embedder.name, "settings": settings.fingerprint(),
                      "data": str(Path(data_path).resolve())}, sort_keys=True)
    return Path(cache_root) / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


class TextVectorCache:
    """An embedder wrapper that remembers every vector by the SHA-256 of its text, on disk.

    The index already reuses the vectors of unchanged documents; this cache also survives a change
    of chunker: after one, only passages whose text is new get embedded. Stored as two plain .npy
    files (keys as fixed-width strings, vectors float32), replaced atomically; no pickle.
    """

    def __init__(self, embedder: Embedder, folder: Path) -> None:
        self.embedder = embedder
        self.name, self.dim = embedder.name, embedder.dim
        self.folder = Path(folder)
        self.hits = self.misses = 0
        self._rows: dict[str, int] = {}
        self._vectors = np.zeros((0, self.dim), np.float32)
        try:
            keys = np.load(self.folder / "keys.npy", allow_pickle=False)
            vectors = np.load(self.folder / "vectors.npy", allow_pickle=False)
            if len(keys) == len(vectors) and vectors.shape[1:] == (self.dim,):
                self._rows = {str(k): i for i, k in enumerate(keys)}
                self._vectors = vectors.astype(np.float32, copy=False)
        except (OSError, ValueError):
            pass  # no cache yet, or an unreadable one: start empty

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._rows))
        self.misses += len(missing)
        self.hits += sum(1 for k in keys if k in self._rows)
        text_of = dict(zip(keys, texts, strict=True))
        for lo in range(0, len(missing), SAVE_EVERY):  # saved as it goes: a killed run resumes
            part = missing[lo:lo + SAVE_EVERY]
            log.info("embedding %d new texts (%d of %d)", len(part), lo + len(part), len(missing))
            fresh = self.embedder.encode([text_of[k] for k in part], batch_size=batch_size, progress=progress)
            base = len(self._vectors)
            self._vectors = np.concatenate([self._vectors, np.asarray(fresh, np.float32)])
            self._rows.update({k: base + i for i, k in enumerate(part)})
            self._save()
        return self._vectors[[self._rows[k] for k in keys]] if keys else np.zeros((0, self.dim), np.float32)

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = np.array(sorted(self._rows, key=self._rows.get), dtype="U64")
        for name, array in (("vectors.npy", self._vectors), ("keys.npy", keys)):
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            write_atomic(self.folder / name, buffer.getvalue())


def vector_cache_folder(embedder: Embedder, cache_root: Path) -> Path:
    return Path(cache_root) / f"vectors-{hashlib.sha256(embedder.name.encode()).hexdigest()[:12]}"


def benchmark_index(name: str, data_path: Path, documents: list[Document], embedder: Embedder,
                    settings: BuildSettings, cache_dir: Path | None = None, runtime: Runtime | None = None) -> Index:
    """The cached index of a benchmark data set: `cache_dir`, or a folder named by data and settings."""
    root = Path(cache_dir).parent if cache_dir else DEFAULT_CACHE_ROOT
    index_dir = Path(cache_dir) if cache_dir else cache_folder(name, data_path, embedder, settings)
    return cached_index(documents, index_dir, embedder, settings, vector_cache_folder(embedder, root), runtime)


def cached_index(documents: list[Document], index_dir: Path, embedder: Embedder, settings: BuildSettings,
                 vector_cache: Path | None = None, runtime: Runtime | None = None) -> Index:
    """Load the index at `index_dir` when it holds exactly these documents; otherwise (re)build it.

    A rebuild into the same folder re-embeds only documents whose content hash changed, and with
    `vector_cache` (a `TextVectorCache` folder) only passages whose text was never embedded before. A build
    runs on `runtime` (default: a new one).
    """
    index_dir = Path(index_dir)
    wanted = {d.doc: d.sha256 for d in documents}
    try:
        manifest = read_manifest(index_dir)
        recorded = manifest.build_settings
        fresh = (manifest.documents == wanted and manifest.model_name == embedder.name
                 and settings.matches(recorded) and manifest.briefing == RANKING_SETTINGS
                 and not calibration_changed(manifest.model))
    except (IndexNotFoundError, IndexCorruptError, IndexStaleError, KeyError, TypeError, AttributeError):
        fresh = False
    if fresh:
        try:
            log.info("reusing the cached index at %s", index_dir)
            return load_index(index_dir, embedder_name=embedder.name)
        except (IndexCorruptError, IndexStaleError) as exc:
            log.warning("cached index unusable (%s); rebuilding", exc)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    builder = TextVectorCache(embedder, vector_cache) if vector_cache is not None else embedder
    built = build_index(index_dir, builder, settings, documents=documents, progress=log.isEnabledFor(logging.INFO),
                        runtime=runtime)
    if isinstance(builder, TextVectorCache):
        log.info("vector cache: %d texts reused, %d embedded", builder.hits, builder.misses)
    log.info(built.summary())
    return load_index(index_dir, embedder_name=embedder.name)


def write_outputs(out_dir: Path, stem: str, result: dict, rows: list[dict]) -> list[Path]:
    """`<stem>.json` (figures), `<stem>.md` (the markdown) and `<stem>-items.jsonl`, each written atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {k: v for k, v in result.items() if k != "markdown"}
    files = {
        out_dir / f"{stem}.json": json.dumps(figures, indent=2, ensure_ascii=False) + "\n",
        out_dir / f"{stem}.md": result["markdown"],
        out_dir / f"{stem}-items.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
    }
    for path, text in files.items():
        write_atomic(path, text)
    return list(files)
