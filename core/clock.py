"""Clocks: simulated time for replay (advanced by the feed), wall-clock time for live runs."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SimulatedClock:
    """Replay time: it only moves when the replay moves it, and never backwards."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance_to(self, ts_ms: int) -> None:
        if ts_ms < self._now:
            raise ValueError(f"simulated clock cannot go back from {self._now} to {ts_ms}")
        self._now = ts_ms


class WallClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class LiveClock(WallClock):
    """The wall clock of a live run: the feed's candle closes do not move it, time does."""

    def advance_to(self, ts_ms: int) -> None:
        """Nothing to do: a live cycle runs at the wall time it runs at."""
