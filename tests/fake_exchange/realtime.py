"""Candles the fake exchange reveals by the wall clock, as a live exchange does.

`play_in_real_time` fills the fake with a seeded random walk of candles: the ones whose period
has begun are served (the newest still forming), and a thread reveals each next candle when
its period begins, making its close the book's price (so resting orders fill as they would
online). With Binance's 1s candles a live run sees a close every second.
"""

from __future__ import annotations

import random
import threading
import time

from tests.fake_exchange.server import FakeBinance


def random_walk(start_ms: int, count: int, interval_ms: int, seed: int, price: float) -> list:
    """(open time, o, h, l, c, v) rows with small seeded moves and two decimals."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        close = round(price * (1 + rng.gauss(0, 0.002)), 2)
        high = round(max(price, close) * (1 + abs(rng.gauss(0, 0.0005))), 2)
        low = round(min(price, close) * (1 - abs(rng.gauss(0, 0.0005))), 2)
        rows.append(
            (start_ms + i * interval_ms, price, high, low, close, round(rng.uniform(1, 9), 3))
        )
        price = close
    return rows


class RealTimeCandles:
    """Reveals a symbol's candles as their periods begin; `stop()` ends the thread."""

    def __init__(
        self,
        fake: FakeBinance,
        symbol: str,
        interval: str = "1s",
        *,
        history: int = 600,
        horizon: int = 3_600,
        seed: int = 7,
        price: float = 30_000.0,
    ) -> None:
        from core.types import timeframe_seconds

        self.fake, self.symbol, self.interval = fake, symbol, interval
        self.interval_ms = timeframe_seconds(interval) * 1000
        now = int(time.time() * 1000)
        self.first_ms = (now // self.interval_ms - history) * self.interval_ms
        rows = random_walk(self.first_ms, history + horizon, self.interval_ms, seed, price)
        fake.set_candles(symbol, interval, rows, served=self._begun(now))
        self._shown = self._begun(now)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._reveal, daemon=True)
        self._thread.start()

    def _begun(self, now_ms: int) -> int:
        return (now_ms - self.first_ms) // self.interval_ms + 1

    def _reveal(self) -> None:
        while not self._stopping.wait(0.02):
            due = self._begun(int(time.time() * 1000))
            if due > self._shown:
                self.fake.advance(self.symbol, self.interval, due - self._shown)
                self._shown = due

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)


def play_in_real_time(fake: FakeBinance, symbol: str, **options: object) -> RealTimeCandles:
    return RealTimeCandles(fake, symbol, **options)  # type: ignore[arg-type]
