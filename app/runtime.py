"""The Runtime: what one process loads once and shares between questions, builds and threads.

Models (spaCy's pipeline, the language identifiers), batching queues (the question parse) and caches
(sentence parses, span scorers and their precision figures) live here; the query encoder is the opened
index's (app/index/verify.py). A process builds one `Runtime` at its entry point (the CLI command, `serve`,
an evaluation run) and passes it down; a test builds its own, or hands one a stand-in pipeline.

Nothing else in app/ keeps state at module level (tests/test_architecture.py checks: no `functools.cache`
or `lru_cache`, no module-level lock, no `global`). What is truly constant is made at import and never
changed (the Snowball stemmers and stop-word sets of app/index/lexical.py); pysbd's segmenter, which
keeps the text it splits, is made per call. The one module-level lock guards PDFium, a C library with
one state per process (app/index/ingest.py), not state of ours.

>>> runtime = Runtime()
>>> runtime.memo(("answer", 42), lambda: "loaded once")
'loaded once'
>>> runtime.memo(("answer", 42), lambda: "not called again")
'loaded once'
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from app.batching import Batcher
from app.index.ner import load_pipeline

log = logging.getLogger(__name__)

T = TypeVar("T")
PARSED_MAX = 4096  # sentence parses kept (a few kB each): the sentences of one corpus keep coming back


class Runtime:
    """One process's models, batching queues and caches; everything loads on first use.

    `nlp` replaces spaCy's pipeline loader (tests pass a counting or failing one)."""

    def __init__(self, nlp: Callable[[], Any] = load_pipeline, parsed_max: int = PARSED_MAX) -> None:
        self._load_nlp = nlp
        self._nlp: Any = None
        self._lock = threading.RLock()
        self._memo: dict[Hashable, Any] = {}
        self._parsed: OrderedDict[str, Any] = OrderedDict()
        self.parsed_max = parsed_max
        # a question's parse costs 2.8 ms of CPU alone, 1.3-1.5 ms in batches of 4-16 (rest_budget.py,
        # docs/experiments/README.md)
        self.question_parses: Batcher[str, Any] = Batcher(lambda texts: self.parse(texts, ner=False))

    @property
    def nlp(self) -> Any:
        """spaCy's checked English pipeline, loaded once (app/index/ner.py)."""
        with self._lock:
            if self._nlp is None:
                self._nlp = self._load_nlp()
            return self._nlp

    @property
    def nlp_loaded(self) -> bool:
        return self._nlp is not None

    def parse(self, texts: Sequence[str], ner: bool = True) -> list:
        """Full spaCy parses of a few short texts (entities unless `ner` is False)."""
        from app.index.ner import NER_BATCH

        return list(self.nlp.pipe(texts, batch_size=NER_BATCH, disable=[] if ner else ["ner"]))

    def memo(self, key: Hashable, load: Callable[[], T]) -> T:
        """`load()` the first time `key` is asked for, the same object after (span scorers, encoders)."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = load()
            return self._memo[key]

    def loaded(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._memo

    def parsed(self, texts: Sequence[str], make: Callable[[list[str]], list[T]]) -> list[T]:
        """Each text's parse, made by `make` (one batch for the texts not seen yet) and kept, oldest out
        first, up to `parsed_max`: the sentences of an index never change."""
        with self._lock:
            known = {t: self._parsed[t] for t in texts if t in self._parsed}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        fresh = dict(zip(missing, make(missing), strict=True)) if missing else {}
        with self._lock:
            for text, value in fresh.items():
                self._parsed[text] = value
                while len(self._parsed) > self.parsed_max:
                    self._parsed.popitem(last=False)
        return [known[t] if t in known else fresh[t] for t in texts]

    def parsed_texts(self) -> list[str]:
        """The texts whose parses are kept, oldest first (for tests and the bench)."""
        with self._lock:
            return list(self._parsed)

    def batch_counts(self, encoder: Any = None) -> dict[str, dict[str, int]]:
        """How many batches of each size the question parse (`parse`) and, when it batches, the query
        encoder (`encode`) ran since this runtime started. JSON keys: the sizes."""
        queues = {"encode": getattr(encoder, "batcher", None), "parse": self.question_parses}
        return {name: {str(size): n for size, n in sorted(q.stats.sizes.items())}
                for name, q in queues.items() if q is not None}
