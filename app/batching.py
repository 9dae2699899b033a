"""Dynamic batching across requests: questions that arrive together are encoded together.

A server answers each request on its own thread; each thread encodes one question. `Batcher`
puts a small queue in front of a function that maps a list to a list (the query encoder), like
the dynamic batching of model servers, but with no fixed wait for a lone caller:

- a caller that finds nothing running becomes the *leader* and runs at once with whatever is
  queued (often only its own item): one question alone never waits for a window;
- callers that arrive while a batch runs queue up; when the batch ends, the first of them leads
  the next batch and takes up to `max_batch` queued items together (after waiting at most
  `window` seconds for the batch to fill, only when others were already queued: under load);
- every caller gets its own result; if a batch raises, its items are run again one by one, so a
  bad item gets its own error and the others their answers.

`BatchingEncoder` is the `Embedder` protocol over a `Batcher`: the assistant encodes one question
per call, as before, and concurrent calls share one `encode`. Encoding a padded batch gives the
vectors of encoding each question alone (the ONNX encoder masks padding; `verbatim bench
--sections batching` checks it on the report's questions and measures `window` and `max_batch`).
The search is not batched: on the report's index it takes well under a tenth of the encode.

>>> from app.index.embed import HashEmbedder
>>> enc = BatchingEncoder(HashEmbedder(8))
>>> bool((enc.encode(["a question"]) == HashEmbedder(8).encode(["a question"])).all())
True
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")

# measured by `verbatim bench --sections batching` (docs/performance.md): batches past 16 gained nothing
# on 2 cores, and waiting for a batch to fill cost more than it saved
MAX_BATCH = 16
WINDOW_SECONDS = 0.0
STATS_KEPT = 1024


@dataclass(eq=False)
class _Item(Generic[T, R]):
    value: T
    done: threading.Event = field(default_factory=threading.Event)
    result: R | None = None
    error: BaseException | None = None
    wake: threading.Event = field(default_factory=threading.Event)  # set once: answered, or to lead the next batch


@dataclass
class BatchStats:
    """What the batcher did, for tests and the bench: the sizes of the last batches run (bounded, so a
    long-running server keeps no growing record), how many batches of each size ran since start (at
    most `max_batch` counters; the server's health reports them, the load bench diffs them), windows
    waited, items run again alone."""

    batches: deque[int] = field(default_factory=lambda: deque(maxlen=STATS_KEPT))
    sizes: Counter[int] = field(default_factory=Counter)
    windows_waited: int = 0
    retried_alone: int = 0


class Batcher(Generic[T, R]):
    """Runs `run(list of items) -> list of results` for concurrent callers of `submit(item)`."""

    def __init__(self, run: Callable[[list[T]], Sequence[R]], max_batch: int = MAX_BATCH,
                 window: float = WINDOW_SECONDS) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch {max_batch} is below 1")
        if window < 0:
            raise ValueError(f"window {window} is negative")
        self._run, self.max_batch, self.window = run, max_batch, window
        self._cond = threading.Condition()
        self._queue: list[_Item[T, R]] = []
        self._running = False
        self.stats = BatchStats()

    @property
    def waiting(self) -> int:
        """Items queued and not yet taken into a batch."""
        with self._cond:
            return len(self._queue)

    def submit(self, value: T) -> R:
        """The result of `run([value])`, computed together with other callers' items."""
        item: _Item[T, R] = _Item(value)
        with self._cond:
            self._queue.append(item)
            if self.window > 0:
                self._cond.notify_all()  # a leader waiting for its batch to fill counts again
            queued, self._running = self._running, True
        if queued:  # a batch is running: wait to be answered, or to lead the next batch
            item.wake.wait()  # each waiter is woken once, by its own event (no herd woken per batch)
            if item.done.is_set():
                return self._outcome(item)
        with self._cond:
            batch = self._take()
        try:
            self._execute(batch)
        finally:
            with self._cond:
                for i in batch:  # answered, or (interrupted) told so: never left waiting
                    if not i.done.is_set():
                        i.error = i.error or RuntimeError("the batch was interrupted; ask again")
                        i.done.set()
                head = self._queue[0] if self._queue else None  # the first waiting caller leads the next batch
                self._running = head is not None
            for i in batch:
                i.wake.set()
            if head is not None:
                head.wake.set()
        return self._outcome(item)

    def _take(self) -> list[_Item[T, R]]:
        """The next batch (under the lock): the queue's head, after a window only if others wait too."""
        if self.window > 0 and len(self._queue) > 1 and len(self._queue) < self.max_batch:
            self.stats.windows_waited += 1
            deadline = time.monotonic() + self.window
            self._cond.wait_for(lambda: len(self._queue) >= self.max_batch, timeout=deadline - time.monotonic())
        batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]  # the leader is the head
        self.stats.batches.append(len(batch))
        self.stats.sizes[len(batch)] += 1
        return batch

    def _execute(self, batch: list[_Item[T, R]]) -> None:
        try:
            results = list(self._run([i.value for i in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} gave {len(results)} results")
            for i, r in zip(batch, results, strict=True):
                i.result = r
        except Exception as exc:  # noqa: BLE001 - run each alone, so only a bad item carries an error
            if len(batch) == 1:
                batch[0].error = exc
            else:
                self.stats.retried_alone += len(batch)
                for i in batch:
                    raise_into(i, self._run)
        for i in batch:
            i.done.set()

    @staticmethod
    def _outcome(item: _Item[T, R]) -> R:
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[return-value]


def raise_into(item: _Item, run: Callable[[list], Sequence]) -> None:
    """Run one item alone, keeping its result or its exception on the item."""
    try:
        item.result = list(run([item.value]))[0]
    except Exception as exc:  # noqa: BLE001 - handed to its own caller
        item.error = exc


class BatchingEncoder:
    """The `Embedder` protocol, with concurrent one-question `encode` calls batched into one.

    Calls with several texts (a build, a bench) go straight to the wrapped encoder."""

    def __init__(self, inner, max_batch: int = MAX_BATCH, window: float = WINDOW_SECONDS) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.batcher: Batcher[str, np.ndarray] = Batcher(self._encode_many, max_batch, window)

    def _encode_many(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode(texts, batch_size=max(len(texts), 1))

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.encode(texts, batch_size=batch_size, progress=progress)
        return self.batcher.submit(texts[0])[None, :]
