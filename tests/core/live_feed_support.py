"""Shared pieces of the live feed tests: a fast fake clock and candle rows in the recent past.

The clock moves only when the feed sleeps, so an hour of exchange time passes in a moment; at
each minute boundary it crosses it runs the test's hooks, which is where a fake exchange reveals
the candle that starts forming then (as a real one does) or starts failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.market.live_sources import ExchangeSource, FeedEvent
from tests.fake_exchange.server import FakeBinance

MINUTE = 60_000
# Candle times in the recent past, so ccxt's own idea of "now" never hides a candle.
T0 = (int(time.time() * 1000) // MINUTE - 300) * MINUTE


def rows(count: int, base: float = 30000.0) -> list[tuple[int, float, float, float, float, float]]:
    """`count` 1m candles from T0, each close distinct so a doubled or lost one shows."""
    out = []
    for i in range(count):
        close = base + i
        out.append((T0 + i * MINUTE, close - 0.5, close + 1.0, close - 1.0, close, 1.0 + i))
    return out


class FakeClock:
    """`now()` in ms; `sleep(s)` moves it by s and runs hooks for each minute boundary crossed."""

    def __init__(self, start_ms: int, *, real_pause: float = 0.0) -> None:
        self.ms = start_ms
        self.real_pause = real_pause
        self.hooks: dict[int, list[Callable[[], None]]] = {}
        self.each_sleep: list[Callable[[], None]] = []

    def now(self) -> int:
        return self.ms

    def at(self, ms: int, hook: Callable[[], None]) -> None:
        self.hooks.setdefault(ms, []).append(hook)

    def sleep(self, seconds: float) -> None:
        for hook in list(self.each_sleep):
            hook()
        if self.real_pause:
            time.sleep(self.real_pause)
        before, self.ms = self.ms, self.ms + int(seconds * 1000)
        for moment in sorted(m for m in self.hooks if before < m <= self.ms):
            for hook in self.hooks.pop(moment):
                hook()


def reveal_each_minute(fake: FakeBinance, clock: FakeClock, symbol: str, count: int) -> None:
    """The fake shows candle i (still forming) from T0 + i minutes on."""
    for i in range(1, count):
        clock.at(T0 + i * MINUTE, lambda: fake.advance(symbol, "1m"))


def rest_source(fake: FakeBinance, name: str = "binance") -> ExchangeSource:
    return ExchangeSource(name=name, rest=lambda: fake.ccxt(timeout=3000))


def klines_requests(fake: FakeBinance) -> int:
    return sum(1 for r in fake.requests if r.path == "/api/v3/klines")


class Events(list[FeedEvent]):
    def kinds(self) -> list[str]:
        return [event.kind for event in self]
