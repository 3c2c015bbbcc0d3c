"""What the agent held over a replay: its equity and exposure at every close, and per symbol
what it traded, earned and held.

Positions are valued at each market's close (the position after a market's cycle at a close
is the one held through that candle); a market with no candle at a close keeps its last value.
A symbol's contribution is its realized P&L plus what its open position would be worth at the
last close, over the starting equity, so on an account that starts in cash the symbols'
contributions add up to the total return.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from core.market.series import CandleSeries
from core.types import MarketInfo, Trace
from tools.trades import RoundTrips


class EquitySeries(BaseModel):
    """The agent's equity and exposure at every candle close (the data behind the plots, and
    what paired comparisons between runs resample)."""

    model_config = ConfigDict(frozen=True)

    initial: float
    """Starting equity, before the first close."""
    times_ms: list[int]
    """Close time (UTC, ms) of every replayed candle close."""
    agent: list[float]
    """The agent's equity at each close (the curve its metrics are computed from)."""
    exposure: list[float]
    """Fraction of equity in positions at each close, 0..1."""


class SymbolRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str
    trades: int
    """Closed round trips."""
    wins: int
    realized_pnl: float
    unrealized_pnl: float
    """An open position at the end, marked at the last close (fees of a sale apart)."""
    fees_paid: float
    contribution: float
    """(realized + unrealized) over the starting equity: its share of the total return."""
    exposure: float
    """Share of closes with a position in it."""
    average_weight: float
    """Mean fraction of equity in it over the closes."""
    open_at_end: bool


def holdings(
    traces: Sequence[Trace],
    held: Sequence[float],
    markets: Sequence[tuple[MarketInfo, CandleSeries]],
    initial: float,
    closes: Sequence[int],
) -> tuple[EquitySeries, list[SymbolRow]]:
    """`held[i]` is the position in `traces[i].symbol` after that cycle; `closes` indexes the
    last cycle of each candle close."""
    symbols = [info.symbol for info, _ in markets]
    prices = {info.symbol: _closes(info, series, traces) for info, series in markets}
    last_price = {s: 0.0 for s in symbols}
    value = {s: 0.0 for s in symbols}
    exposed = {s: 0 for s in symbols}
    weight = {s: 0.0 for s in symbols}
    exposure: list[float] = []
    ends = iter(closes)
    end = next(ends, -1)
    for i, trace in enumerate(traces):
        symbol = trace.symbol
        last_price[symbol] = prices.get(symbol, {}).get(trace.ts, last_price.get(symbol, 0.0))
        value[symbol] = held[i] * last_price[symbol]
        if i != end:
            continue
        equity = trace.equity
        for s in symbols:
            exposed[s] += value[s] > 0
            weight[s] += _fraction(value[s], equity)
        exposure.append(_fraction(sum(value.values()), equity))
        end = next(ends, -1)
    series = EquitySeries(
        initial=initial,
        times_ms=[traces[i].ts for i in closes],
        agent=[traces[i].equity for i in closes],
        exposure=exposure,
    )
    count = max(1, len(closes))
    exposure_share = {s: exposed[s] / count for s in symbols}
    mean_weight = {s: weight[s] / count for s in symbols}
    return series, _symbol_rows(traces, symbols, last_price, exposure_share, mean_weight, initial)


def _symbol_rows(
    traces: Sequence[Trace],
    symbols: list[str],
    last_price: dict[str, float],
    exposure: dict[str, float],
    weight: dict[str, float],
    initial: float,
) -> list[SymbolRow]:
    trips = RoundTrips()
    fees = {s: 0.0 for s in symbols}
    for trace in traces:
        for fill in trace.fills:
            trips.on_fill(fill)
            fees[fill.symbol] = fees.get(fill.symbol, 0.0) + fill.fee
    still_open = {t.symbol: t for t in trips.still_open()}
    rows = []
    for s in symbols:
        mine = [t for t in trips.closed if t.symbol == s]
        realized = sum(t.pnl for t in mine)
        left = still_open.get(s)
        unrealized = left.marked_pnl(last_price[s]) if left is not None else 0.0
        rows.append(
            SymbolRow(
                symbol=s,
                trades=len(mine),
                wins=sum(1 for t in mine if t.pnl > 0),
                realized_pnl=realized,
                unrealized_pnl=unrealized,
                fees_paid=fees[s],
                contribution=(realized + unrealized) / initial if initial > 0 else 0.0,
                exposure=exposure[s],
                average_weight=weight[s],
                open_at_end=left is not None,
            )
        )
    return rows


def _closes(info: MarketInfo, series: CandleSeries, traces: Sequence[Trace]) -> dict[int, float]:
    """Close price by close time, for the candles the replay saw of this market."""
    seen = sum(1 for t in traces if t.symbol == info.symbol)
    return {
        int(ts) + info.period_ms: float(close)
        for ts, close in zip(series.ts[:seen], series.close[:seen], strict=True)
    }


def _fraction(part: float, whole: float) -> float:
    return min(1.0, max(0.0, part / whole)) if whole > 0 else 0.0
