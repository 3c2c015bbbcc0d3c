"""When an agent wakes: at each candle close plus a delay, on the wall clock, or on a market
played faster than real time (`--speed 600`: a 1h candle every 6 s).

Pure arithmetic on milliseconds, so the scheduler's rules (alignment to the close, what was
missed while the agent was down, what a restart mid-candle does) are tested on a fake clock.
Market time is what candles are stamped with; wall time is what the machine's clock reads.
Live, they are the same; a played market maps one onto the other from an origin at `speed`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WEEK_MS = 7 * 86_400_000
MONDAY_OFFSET_MS = 4 * 86_400_000
"""Exchanges open weekly candles on Mondays; the epoch (1970-01-01) was a Thursday."""


@dataclass(frozen=True)
class CandleSchedule:
    period_ms: int
    """The candle's length in market time."""
    delay_ms: int = 0
    """Wall time after a close before waking: the exchange needs a moment to close a candle."""
    speed: float = 1.0
    """Market milliseconds per wall millisecond: 1 live, 600 for a 1h candle every 6 s."""
    origin_market_ms: int = 0
    origin_wall_ms: int = 0
    """A played market reads `origin_market_ms` on its clock at wall time `origin_wall_ms`."""

    def __post_init__(self) -> None:
        if self.period_ms <= 0:
            raise ValueError("a candle period must be positive")
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise ValueError("speed must be a positive number")
        if self.delay_ms < 0:
            raise ValueError("the wake-up delay cannot be negative")

    @property
    def alignment_ms(self) -> int:
        """Candle opens are multiples of the period from here (weekly candles from a Monday)."""
        return MONDAY_OFFSET_MS if self.period_ms == WEEK_MS else 0

    def market_ms(self, wall_ms: float) -> int:
        """The market clock's reading at a wall time."""
        return self.origin_market_ms + math.floor((wall_ms - self.origin_wall_ms) * self.speed)

    def wall_ms(self, market_ms: int) -> float:
        """The wall time at which the market clock reads `market_ms`."""
        return self.origin_wall_ms + (market_ms - self.origin_market_ms) / self.speed

    def last_close(self, wall_ms: float) -> int:
        """The latest candle close (market time) at or before this wall time, delay not counted."""
        market = self.market_ms(wall_ms) - self.alignment_ms
        return (market // self.period_ms) * self.period_ms + self.alignment_ms

    def wake_at(self, close_ms: int) -> float:
        """The wall time to wake for the candle closing at `close_ms`."""
        return self.wall_ms(close_ms) + self.delay_ms

    def next_close(self, wall_ms: float) -> int:
        """The close of the next wake-up strictly after this wall time."""
        close = self.last_close(wall_ms)
        while self.wake_at(close) <= wall_ms:
            close += self.period_ms
        return close

    def due_close(self, wall_ms: float) -> int:
        """The close whose wake-up is the latest at or before this wall time."""
        return self.next_close(wall_ms) - self.period_ms

    def missed_between(self, last_done_close: int | None, serving_close: int) -> list[int]:
        """Closes after the last one served and before the one about to be served: the ticks
        that fell while the agent was down, or behind. Recorded, never traded late."""
        if last_done_close is None or serving_close <= last_done_close:
            return []
        return list(range(last_done_close + self.period_ms, serving_close, self.period_ms))

    def is_current(self, close_ms: int, wall_ms: float) -> bool:
        """Whether the candle closing at `close_ms` is still the latest one closed: a tick
        interrupted by a crash is finished on restart only then (restart mid-candle)."""
        return self.due_close(wall_ms) <= close_ms
