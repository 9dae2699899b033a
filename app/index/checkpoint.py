"""Checkpoints: the vectors a build has embedded so far, on disk as they are produced.

A build embeds its texts in batches; each batch is written to the build's working folder
(`<index>.builds/work-<tag>/`) as one shard: `shard-*.npy` (float32 vectors, no pickle) and
`shard-*.json` (the key of every row, the .npy's size and SHA-256). The .json is written last,
through a temporary file and `os.replace`, so a shard exists whole or not at all; a shard whose
.npy does not match its record (a crash, a bad disk) is dropped when the checkpoint is opened.

A row's key is the SHA-256 of its text; `<tag>` is a hash of the model name, its dimension and
the build settings, so a checkpoint is only ever reused by a build that would compute the same
vectors. A build killed with `kill -9` and started again embeds only the keys not yet stored.

>>> import tempfile, pathlib, numpy as np
>>> cp = Checkpoint.open(pathlib.Path(tempfile.mkdtemp()), "m", 2, {"chunk_max_words": 100})
>>> cp.add([text_key("a")], np.array([[1.0, 0.0]], np.float32))
>>> text_key("a") in cp, len(cp)
(True, 1)
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.files import write_atomic

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1
WORK_PREFIX = "work-"


def text_key(text: str) -> str:
    """The checkpoint key of a text: its SHA-256 (hex, first 32 digits)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Checkpoint:
    """Vectors embedded so far for one model and build settings, as shards keyed by text hash."""

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder = folder
        self.dim = dim
        self._where: dict[str, tuple[int, int]] = {}  # key -> (shard number, row)
        self._shards: list[Path] = []

    @classmethod
    def open(cls, builds_dir: Path, model: str, dim: int, fingerprint: dict) -> Checkpoint:
        """The checkpoint in `builds_dir` for this model and settings, with every whole shard loaded."""
        meta = {"format": CHECKPOINT_FORMAT, "model": model, "dim": dim, "settings": fingerprint}
        tag = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:12]
        folder = Path(builds_dir) / f"{WORK_PREFIX}{tag}"
        meta_path = folder / "meta.json"
        try:
            if json.loads(meta_path.read_text(encoding="utf-8")) != meta:
                shutil.rmtree(folder)
        except (OSError, ValueError):
            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        if not meta_path.exists():
            write_atomic(meta_path, json.dumps(meta, indent=1).encode())
        cp = cls(folder, dim)
        for record in sorted(folder.glob("shard-*.json")):
            cp._load_shard(record)
        return cp

    def _load_shard(self, record: Path) -> None:
        vectors = record.with_suffix(".npy")
        try:
            info = json.loads(record.read_text(encoding="utf-8"))
            data = vectors.read_bytes()
            ok = (len(data) == info["bytes"] and hashlib.sha256(data).hexdigest() == info["sha256"]
                  and len(info["keys"]) == info["rows"])
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            log.warning("dropping damaged checkpoint shard %s", record.name)
            record.unlink(missing_ok=True)
            vectors.unlink(missing_ok=True)
            return
        number = len(self._shards)
        self._shards.append(vectors)
        for row, key in enumerate(info["keys"]):
            self._where.setdefault(key, (number, row))

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def __len__(self) -> int:
        return len(self._where)

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store one batch: the .npy first, then its record (the shard counts once the record exists)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dim):
            raise ValueError(f"a checkpoint batch of {len(keys)} keys got vectors of shape {vectors.shape}")
        if not len(keys):
            return
        buf = io.BytesIO()
        np.save(buf, vectors, allow_pickle=False)
        data = buf.getvalue()
        name = f"shard-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        write_atomic(self.folder / f"{name}.npy", data)
        record = {"keys": [str(k) for k in keys], "rows": len(keys), "bytes": len(data),
                  "sha256": hashlib.sha256(data).hexdigest()}
        write_atomic(self.folder / f"{name}.json", json.dumps(record).encode())
        number = len(self._shards)
        self._shards.append(self.folder / f"{name}.npy")
        for row, key in enumerate(record["keys"]):
            self._where.setdefault(key, (number, row))

    def fill(self, keys: Sequence[str], out: np.ndarray, rows: np.ndarray) -> None:
        """Copy the stored vector of keys[i] into out[rows[i]], one memory-mapped shard at a time."""
        if not len(keys):
            return
        where = np.array([self._where[k] for k in keys], dtype=np.int64).reshape(-1, 2)
        rows = np.asarray(rows, dtype=np.int64)
        for shard in np.unique(where[:, 0]):
            pick = where[:, 0] == shard
            vectors = np.load(self._shards[shard], mmap_mode="r", allow_pickle=False)
            out[rows[pick]] = vectors[where[pick, 1]]

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def remove_checkpoints(builds_dir: Path) -> None:
    """Delete every working folder (after a build is swapped in, none of them is needed)."""
    for folder in Path(builds_dir).glob(f"{WORK_PREFIX}*"):
        shutil.rmtree(folder, ignore_errors=True)
