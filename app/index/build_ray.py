"""The Ray engine: a build's embedding as a Ray Data pipeline over actors that load the model once each.

    verbatim index build --engine ray                       a local Ray runtime (a laptop, one machine)
    verbatim index build --engine ray --address auto        the cluster this machine belongs to
    verbatim index build --engine ray --address ray://HOST:10001 --workers 8

Ingest, chunking, the offset check, named entities (spaCy NER over the new sentences,
`app.index.ner`, before the embedding starts), the checkpoint and the index files stay on the driver
(the machine running the command); only embedding is distributed: the texts still to embed go into
the object store in blocks of `batch_texts`, `map_batches` runs them through a fixed pool of
`workers` actors (`ActorPoolStrategy`, one CPU each), and the driver streams the results back,
writing each batch to the build's checkpoint as it arrives. Ray restarts an actor that dies and
retries its batch (Ray Data's defaults: `max_restarts=-1`, `max_task_retries=-1`); results are
keyed by text hash, so a retried batch can neither be lost nor counted twice.

Ray is optional (`pip install -e '.[ray]'`); without it `--engine ray` says so in one line.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import numpy as np

from app.errors import VerbatimError

log = logging.getLogger(__name__)

INSTALL_HINT = "--engine ray needs Ray: pip install -e '.[ray]' (or pip install 'ray[data,client]>=2.60,<2.61')"
CONNECT_TIMEOUT_S = 5.0


class RayEngineError(VerbatimError):
    """Ray is missing, the cluster cannot be reached, or the pipeline failed."""


def require_ray():
    """The `ray` module, or a one-line error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the [data] extra
    except ImportError:
        raise RayEngineError(INSTALL_HINT) from None
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail in seconds, with one line, when `address` (HOST:PORT or ray://HOST:PORT) does not answer.

    Ray itself waits a minute or more for a cluster that is not there; a TCP connect does not.
    "auto" (the cluster this machine joined with `ray start`) is left to Ray, which fails at once.
    """
    if address == "auto":
        return
    parts = urlsplit(address if "://" in address else f"gcs://{address}")
    if parts.scheme not in ("ray", "gcs") or not parts.hostname or parts.port is None:
        raise RayEngineError(f"--address {address!r} is not auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RayEngineError(f"cannot reach the Ray cluster at {address} ({reason} within {timeout:g} s); "
                             "start it with `ray start --head` or check --address") from None


class EmbedActor:
    """One Ray actor: loads the embedder once, then turns batches of texts into vectors."""

    def __init__(self, factory: Callable[[], object]) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.embedder = factory()
        self.embedder.encode(["load the model before the first batch"])

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        vectors = self.embedder.encode([str(t) for t in batch["text"]])
        n = len(vectors)
        return {"key": batch["key"], "vector": vectors, "seconds": np.full(n, (time.perf_counter() - t0) / max(n, 1)),
                "pid": np.full(n, os.getpid(), dtype=np.int64)}


def default_factory(model_name: str) -> Callable[[], object]:
    """The embedder a build uses for `model_name`, made inside each actor (importable, so picklable by name)."""
    from app.index.encoders import encoder

    return functools.partial(encoder, model_name, "build")


class RayEngine:
    """The `Engine` protocol (app.index.build) on Ray Data: `workers` actors, batches of `batch_texts` texts."""

    name = "ray"

    def __init__(self, factory: Callable[[], object], address: str | None = None, workers: int = 2,
                 batch_texts: int = 256, connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        if workers < 1:
            raise RayEngineError(f"--workers {workers} is below 1")
        self.factory = factory
        self.address = address
        self.workers = workers
        self.batch_texts = batch_texts
        self.connect_timeout = connect_timeout
        self.stats: dict = {}

    def _connect(self, ray) -> bool:
        """Join the cluster at `address`, or start a local runtime; True when this engine started it."""
        if self.address is not None:
            check_reachable(self.address, self.connect_timeout)
        if ray.is_initialized():
            return False
        quiet = not log.isEnabledFor(logging.INFO)
        if self.address is None:
            ray.init(num_cpus=max(self.workers, os.cpu_count() or 1), include_dashboard=False,
                     logging_level=logging.ERROR if quiet else logging.INFO, log_to_driver=not quiet)
            return True
        try:
            ray.init(address=self.address, logging_level=logging.ERROR if quiet else logging.INFO,
                     log_to_driver=not quiet)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RayEngineError(f"cannot join the Ray cluster at {self.address}: {first}") from None
        return True

    def embed(self, items: Sequence[tuple[str, str]], sink: Callable[[Sequence[str], np.ndarray], None]) -> None:
        ray = require_ray()
        import pyarrow as pa

        started = self._connect(ray)
        logging.getLogger("ray.data").setLevel(logging.INFO if log.isEnabledFor(logging.INFO) else logging.ERROR)
        t0 = time.perf_counter()
        try:
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False  # the driver shows its own (app.index.build)
            blocks = [pa.table({"key": [k for k, _ in items[i:i + self.batch_texts]],
                                "text": [t for _, t in items[i:i + self.batch_texts]]})
                      for i in range(0, len(items), self.batch_texts)]
            ds = ray.data.from_arrow(blocks).map_batches(
                EmbedActor, fn_constructor_kwargs={"factory": self.factory}, batch_size=self.batch_texts,
                compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=1, batch_format="numpy")
            del blocks
            worker_seconds, pids, batches = 0.0, set(), 0
            with warnings.catch_warnings():  # Ray Data's advice on pool sizes for small builds
                warnings.simplefilter("ignore", UserWarning)
                batches_iter = iter(ds.iter_batches(batch_size=None, batch_format="numpy"))
                first = next(batches_iter, None)
            for batch in ([] if first is None else itertools.chain([first], batches_iter)):
                sink([str(k) for k in batch["key"]], np.asarray(batch["vector"], dtype=np.float32))
                worker_seconds += float(batch["seconds"].sum())
                pids.update(int(p) for p in batch["pid"])
                batches += 1
            self.stats = {"batches": batches, "worker_embed_seconds": round(worker_seconds, 3),
                          "wall_seconds": round(time.perf_counter() - t0, 3), "actor_processes": len(pids),
                          "cluster_cpus": ray.cluster_resources().get("CPU", 0),
                          "address": self.address or "local"}
        except ray.exceptions.RayError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RayEngineError(f"the Ray pipeline failed: {first}; run the build again to resume") from None
        finally:
            if started:
                ray.shutdown()
