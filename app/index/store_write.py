"""Writing an index build: into a temporary folder beside the current one, then one atomic swap.

A build is written to `<index>.builds/tmp-<pid>-<id>/`, fsynced, renamed to its final name, and the
`<index>` link is replaced with one `os.replace`; readers see the old build or the new one, whole.
A build killed midway leaves a `tmp-*` folder that the next build removes (`clean_stale_builds`).
The file names and row shapes are `app.index.store`'s.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.files import write_atomic, write_jsonl
from app.index.chunk import Chunk
from app.index.ingest import Document
from app.index.store import (
    BM25_FOLDER,
    BRIEFING,
    BRIEFING_SCORES,
    CHUNK_VECTORS,
    CHUNKS,
    DENSE,
    DOCUMENTS,
    ENTITIES,
    MANIFEST,
    SENTENCE_VECTORS,
    SENTENCES,
    builds_dir,
    calibration_path,
    document_row,
    entity_lines,
    sha256_file,
)

if TYPE_CHECKING:
    from app.index.lexical import BM25Index  # bm25s: imported where a build makes one, not to read a manifest


def make_faiss_index(vectors: np.ndarray, index_type: str, hnsw_threshold: int):
    """Exact inner-product search below `hnsw_threshold` vectors (or when asked), HNSW above."""
    import faiss

    dim = vectors.shape[1]
    kind = index_type if index_type != "auto" else ("hnsw" if len(vectors) >= hnsw_threshold else "flat")
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
        params: dict = {}
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
        params = {"M": 32, "efConstruction": 80, "efSearch": 64}
    if len(vectors):
        index.add(vectors)
    return index, {"type": kind, "params": params}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_builds(index_dir: Path) -> list[Path]:
    """Remove unfinished builds of dead processes and builds no longer current. Returns them.

    Checkpoints (`work-*`) stay: a build started again resumes from them; a finished build removes them."""
    builds = builds_dir(index_dir)
    if not builds.is_dir():
        return []
    current = index_dir.resolve() if index_dir.is_symlink() else None
    removed = []
    for entry in builds.iterdir():
        if (current is not None and entry.resolve() == current) or entry.name.startswith("work-"):
            continue
        if entry.name.startswith("tmp-"):
            pid = int(entry.name.split("-")[1]) if entry.name.split("-")[1].isdigit() else 0
            if pid and _pid_alive(pid) and pid != os.getpid():
                continue  # another build is running
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def write_build(index_dir: Path, manifest: dict, documents: list[Document], chunks: list[Chunk],
                 chunk_matrix: np.ndarray, sentences: np.ndarray, sentence_matrix: np.ndarray | None,
                 faiss_index, bm25: BM25Index, briefing: tuple[np.ndarray, np.ndarray],
                 entities: np.ndarray | None = None) -> None:
    import faiss

    builds = builds_dir(index_dir)
    builds.mkdir(parents=True, exist_ok=True)
    clean_stale_builds(index_dir)
    tmp = builds / f"tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write_jsonl(tmp / DOCUMENTS, (document_row(d, manifest["created_at"]) for d in documents))
        write_jsonl(tmp / CHUNKS, (c.to_dict() for c in chunks))
        np.save(tmp / CHUNK_VECTORS, chunk_matrix, allow_pickle=False)
        np.save(tmp / SENTENCES, sentences, allow_pickle=False)
        write_jsonl(tmp / ENTITIES, entity_lines(documents, sentences,
                                                 np.zeros((0, 4), np.int64) if entities is None else entities))
        if sentence_matrix is not None:
            np.save(tmp / SENTENCE_VECTORS, sentence_matrix, allow_pickle=False)
        np.save(tmp / BRIEFING, briefing[0], allow_pickle=False)
        np.save(tmp / BRIEFING_SCORES, briefing[1], allow_pickle=False)
        faiss.write_index(faiss_index, str(tmp / DENSE))
        bm25.save(tmp / BM25_FOLDER)
        manifest["files"] = {
            p.relative_to(tmp).as_posix(): {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(tmp)
        final = builds / dt.datetime.now().strftime(f"%Y%m%dT%H%M%S-{uuid.uuid4().hex[:6]}")
        os.rename(tmp, final)
        _swap_link(index_dir, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    clean_stale_builds(index_dir)


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def _swap_link(index_dir: Path, target: Path) -> None:
    """Point `index_dir` at `target` in one atomic step (a real folder there is moved aside first)."""
    if index_dir.exists() and not index_dir.is_symlink():
        aside = builds_dir(index_dir) / f"old-{uuid.uuid4().hex[:8]}"
        os.rename(index_dir, aside)
    link_tmp = index_dir.parent / f".{index_dir.name}.link-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(target, index_dir.parent), link_tmp)
    os.replace(link_tmp, index_dir)


def set_aside(index_dir: Path) -> Path:
    """Move a damaged index (the build a link points at, or a plain folder) to `<index>.damaged-<time>`
    beside it, out of reach of the next build's clean-up; the link itself is removed. Returns the new place."""
    index_dir = Path(index_dir)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    aside = index_dir.parent / f"{index_dir.name}.damaged-{stamp}"
    n = 1
    while aside.exists():
        n += 1
        aside = index_dir.parent / f"{index_dir.name}.damaged-{stamp}-{n}"
    if index_dir.is_symlink():
        target = index_dir.resolve()
        index_dir.unlink()
        if target.is_dir():
            os.rename(target, aside)
    else:
        os.rename(index_dir, aside)
    return aside


def write_calibration(index_dir: Path, model: str, record: dict) -> Path:
    """Store `record` (threshold, floor, how they were chosen) as the index's own calibration (`Calibration`),
    atomically."""
    path = calibration_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({**record, "model": model}, indent=2, ensure_ascii=False) + "\n")
    return path
