"""An index's manifest.json as one frozen value: read once (`app.index.store.read_manifest`), then handed on.

The file on disk is unchanged (its fields are described in `app.index.store`); `Manifest` names the
fields that code reads and keeps the whole record in `raw`. A field that is missing raises where it
is read, as indexing the dict did.

>>> m = Manifest({"model": {"name": "test/hash-embedder-64", "dim": 64}, "build_settings": {"index_type": "flat"}})
>>> m.model_name, m.dim, m.index_type, m.corpus_dir, m.counts
('test/hash-embedder-64', 64, 'flat', None, {})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, eq=False)
class Manifest:
    """A read manifest; `raw` is the parsed JSON (treat it as read-only: the value is shared)."""

    raw: dict[str, Any]

    @property
    def model(self) -> dict[str, Any]:
        """The model record: name, dim, normalized, metric, and the model card's calibration."""
        return self.raw["model"]

    @property
    def model_name(self) -> str:
        return self.raw["model"]["name"]

    @property
    def dim(self) -> int | None:
        return self.raw.get("model", {}).get("dim")

    @property
    def build_settings(self) -> dict[str, Any]:
        """The recorded `BuildSettings` as a dict (`BuildSettings.matches` compares against it)."""
        return self.raw["build_settings"]

    @property
    def index_type(self) -> str:
        return self.raw["build_settings"].get("index_type", "auto")

    @property
    def documents(self) -> dict[str, str]:
        """Each document's SHA-256 by name, as indexed."""
        return self.raw.get("documents", {})

    @property
    def counts(self) -> dict[str, int]:
        return self.raw.get("counts", {})

    @property
    def faiss_type(self) -> str:
        return self.raw["faiss"]["type"]

    @property
    def created_at(self) -> str:
        return self.raw.get("created_at", "")

    @property
    def corpus_dir(self) -> str | None:
        """The corpus folder the index was built from, as recorded (it may be gone since)."""
        return self.raw.get("corpus_dir")

    @property
    def briefing(self) -> dict[str, Any] | None:
        """The briefing ranking's settings (`app.index.briefing.ranking_settings`) at build time."""
        return self.raw.get("briefing")

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """Size and SHA-256 of every file of the build, by relative path."""
        return self.raw.get("files", {})
