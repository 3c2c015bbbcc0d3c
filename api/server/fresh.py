"""Answers kept for a moment: a read that many clients repeat is computed once a second.

An operator's dashboard polls the same portfolio from every open tab; each read opens the
ledger and prices the positions. `Fresh` keeps each answer for `seconds` (one second by
default: what a client sees is at most that old), computed by one thread while the others
wait for it rather than computing it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Fresh(Generic[T]):
    def __init__(self, seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._kept: dict[Hashable, tuple[float, T]] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer kept for `key` if it is fresh, else `compute()`'s (kept)."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            kept = self._kept.get(key)
            if kept is not None and self._clock() - kept[0] < self.seconds:
                return kept[1]
            answer = compute()
            self._kept[key] = (self._clock(), answer)
            return answer
