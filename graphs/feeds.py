"""Market feeds: where a node's candles come from, one candle close at a time.

A feed yields, for each close time in order, the candles of the node's markets that closed
then. The replay feed walks recorded or synthetic series; a live feed (an exchange) yields as
candles close on the wall clock. The node never sees a candle before its close.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from core.market.series import CandleSeries
from core.types import Candle, MarketInfo

Close = tuple[int, dict[str, Candle]]
"""(close time in ms, the candles that closed then, by symbol)."""


class MarketFeed(Protocol):
    @property
    def markets(self) -> tuple[MarketInfo, ...]: ...

    @property
    def expected_cycles(self) -> int | None:
        """How many cycles the feed will drive (candles over all markets), None if unbounded."""
        ...

    def closes(self) -> Iterator[Close]: ...


class ReplayFeed:
    """Candle series replayed in time order; several markets are merged by candle time (a
    market missing a candle at some time simply has no cycle then)."""

    def __init__(self, markets: Sequence[tuple[MarketInfo, CandleSeries]]) -> None:
        if not markets:
            raise ValueError("a feed needs at least one market")
        periods = {info.period_ms for info, _ in markets}
        if len(periods) != 1:
            raise ValueError("the markets of one node must share a timeframe")
        self._markets = tuple(markets)
        self._period = periods.pop()

    @property
    def markets(self) -> tuple[MarketInfo, ...]:
        return tuple(info for info, _ in self._markets)

    @property
    def series(self) -> dict[str, CandleSeries]:
        return {info.symbol: series for info, series in self._markets}

    @property
    def expected_cycles(self) -> int:
        return sum(len(series) for _, series in self._markets)

    def closes(self) -> Iterator[Close]:
        period = self._period
        if len(self._markets) == 1:
            info, series = self._markets[0]
            for i in range(len(series)):
                candle = series.candle(i)
                yield candle.ts + period, {info.symbol: candle}
            return
        cursors = [0] * len(self._markets)
        while True:
            pending = [
                int(series.ts[cursors[k]])
                for k, (_, series) in enumerate(self._markets)
                if cursors[k] < len(series)
            ]
            if not pending:
                return
            ts = min(pending)
            closed: dict[str, Candle] = {}
            for k, (info, series) in enumerate(self._markets):
                if cursors[k] < len(series) and int(series.ts[cursors[k]]) == ts:
                    closed[info.symbol] = series.candle(cursors[k])
                    cursors[k] += 1
            yield ts + period, closed
