"""`Lazy`: a value (a model, an engine) loaded on first use, once, however many threads ask for it at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """A value loaded on first use, once, however many threads ask for it at once.

    >>> calls = []
    >>> lazy = Lazy(lambda: calls.append(1) or "model")
    >>> lazy.get(), lazy.get(), len(calls)
    ('model', 'model', 1)
    """

    def __init__(self, load: Callable[[], T]) -> None:
        self._load, self._value, self._loaded = load, None, False
        self._lock = threading.Lock()

    def get(self) -> T:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._value, self._loaded = self._load(), True
        return self._value  # type: ignore[return-value]
