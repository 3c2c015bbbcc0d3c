"""A recorded or synthetic market played on the wall clock, so anyone can watch an agent work
offline: `--speed 600` closes a 1h candle every 6 s.

The market's clock starts at its first candle's open when the agent first starts (that
origin is kept with the agent, so a restart carries on where the wall clock says: what fell
while it was down is missed, as live). Each wake-up reveals the candles closing then; what
closed before a restart is history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from core.market.series import CandleSeries
from core.types import Candle, MarketInfo
from graphs.feeds import Close


class PlayedMarket:
    def __init__(self, markets: Sequence[tuple[MarketInfo, CandleSeries]]) -> None:
        periods = {info.period_ms for info, _ in markets}
        if len(periods) != 1:
            raise ValueError("the markets of one agent share a timeframe")
        self._markets = tuple(markets)
        self.period_ms = periods.pop()

    @property
    def markets(self) -> tuple[MarketInfo, ...]:
        return tuple(info for info, _ in self._markets)

    @property
    def expected_cycles(self) -> int | None:
        return None

    def closes(self) -> Iterator[Close]:
        """A played market is driven by its scheduler, one close at a time (`closed_at`)."""
        return iter(())

    @property
    def first_open_ms(self) -> int:
        return min(int(series.ts[0]) for _, series in self._markets if len(series))

    @property
    def last_close_ms(self) -> int:
        return max(int(series.ts[-1]) for _, series in self._markets if len(series)) + (
            self.period_ms
        )

    def closed_at(self, close_ms: int) -> dict[str, Candle]:
        """The candles that close at `close_ms`, by symbol (none when the market has none)."""
        found: dict[str, Candle] = {}
        for info, series in self._markets:
            i = int(np.searchsorted(series.ts, close_ms - self.period_ms))
            if i < len(series) and int(series.ts[i]) == close_ms - self.period_ms:
                found[info.symbol] = series.candle(i)
        return found

    def closed_between(self, after_ms: int, before_ms: int) -> list[tuple[int, dict[str, Candle]]]:
        """The closes after `after_ms` and before `before_ms` with their candles (a late
        wake-up's history; closes the market has no candle at are left out, as in a replay)."""
        found = []
        for close in range(after_ms + self.period_ms, before_ms, self.period_ms):
            candles = self.closed_at(close)
            if candles:
                found.append((close, candles))
        return found

    def history(self, until_close_ms: int) -> tuple[tuple[MarketInfo, CandleSeries], ...]:
        """The candles closed at or before `until_close_ms`: a restarted agent's history."""
        kept = []
        for info, series in self._markets:
            stop = int(np.searchsorted(series.ts, until_close_ms - self.period_ms, side="right"))
            kept.append((info, series.window(0, stop)))
        return tuple(kept)
