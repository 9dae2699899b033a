"""An index's manifest.json as one frozen value: read once (`app.index.store.read_manifest`), then handed on.

The file on disk is unchanged (its fields are described in `app.index.store`); `Manifest` holds the
fields that code reads as plain values, parsed once by the reader (`app.index.store.manifest_of`,
which refuses a manifest without a model name or build settings), and keeps the whole record in `raw`.

>>> from app.index.store import manifest_of
>>> m = manifest_of({"model": {"name": "test/hash-embedder-64", "dim": 64}, "build_settings": {"index_type": "flat"}})
>>> m.model_name, m.dim, m.index_type, m.corpus_dir, m.counts
('test/hash-embedder-64', 64, 'flat', None, {})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, eq=False)
class Manifest:
    """A read manifest; `raw` is the parsed JSON and the dicts are parts of it (treat them as read-only: the
    value is shared)."""

    raw: dict[str, Any]
    model: dict[str, Any]  # the model record: name, dim, normalized, metric, and the model card's calibration
    model_name: str
    dim: int | None
    build_settings: dict[str, Any]  # the recorded `BuildSettings` as a dict (`BuildSettings.matches` compares)
    index_type: str
    documents: dict[str, str]  # each document's SHA-256 by name, as indexed
    counts: dict[str, int]
    faiss_type: str
    created_at: str
    corpus_dir: str | None  # the corpus folder the index was built from, as recorded (it may be gone since)
    briefing: dict[str, Any] | None  # the briefing ranking's settings (`app.index.briefing`) at build time
    files: dict[str, dict[str, Any]]  # size and SHA-256 of every file of the build, by relative path
