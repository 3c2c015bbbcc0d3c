"""How much work a tool call over a strategy's signal asks for, and the bound on it.

A model can ask a grid tool for a hundred points over fifty thousand candles; each point's
signal runs over every candle and is then traded on every window. The work is counted in
`tools.grid_execution`'s unit, candle evaluations (a candle of a signal, or of a backtest),
and one call may ask for at most `MAX_TOOL_WORK` of them: about two seconds on a busy
two-core machine, so a conversation never waits minutes for a tool.

Most signals cost about one candle evaluation per candle. The two level strategies cost
more: at every candle they build a volume profile of, or scan the pivots in, the `window`
candles before it, so their cost grows with that window (measured over 50,000 candles: a
volume profile of 2,000 candles in 200 bins costs as much per candle as about 350
evaluations, of 500 candles in 200 bins about 170, as its value area grows bin by bin; 2,000
candles of pivots about 140). `SIGNAL_COST` holds these, rounded up; a strategy not named
there costs 1. Trading a window and measuring it costs `WINDOW_COST` besides its candles:
a fold's backtest and metrics take about 0.6 ms however short the fold, which is why a
walk-forward of five hundred short folds is bounded too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tools.grid_execution import Span
from tools.strategies.base import StrategyParams
from tools.walk_forward import FoldSpans

MAX_TOOL_WORK = 12_000_000
"""Candle evaluations one tool call may ask for: a grid of 100 cheap points over 50,000
candles (10.4 million) fits, a walk-forward of as many points over as many folds does not."""

WINDOW_COST = 4_000
"""A window's backtest and metrics, in candle evaluations (measured: 0.6 ms a window)."""

SIGNAL_COST: dict[str, Callable[[Any], float]] = {
    "volume_profile_breakout": lambda p: 1.0 + p.window / 8.0 + p.bins / 2.0,
    "support_resistance_breakout": lambda p: 1.0 + p.window / 10.0,
}
"""Candle evaluations per candle of a strategy's signal, where more than 1 (see above)."""


def signal_cost(strategy: str, params: StrategyParams) -> float:
    """Candle evaluations per candle of `strategy`'s signal with `params`."""
    cost = SIGNAL_COST.get(strategy)
    return 1.0 if cost is None else cost(params)


def tool_work(
    strategy: str, points: Sequence[StrategyParams], candles: int, spans: Sequence[Span]
) -> float:
    """The candle evaluations of `points` (each a strategy's parameters) signalled over
    `candles` and traded on `spans`."""
    signals = sum(signal_cost(strategy, p) for p in points) * candles
    return signals + len(points) * _trading(spans)


def _trading(spans: Sequence[Span]) -> int:
    return sum(stop - start + WINDOW_COST for start, stop in spans)


def check_tool_work(work: float) -> None:
    """A ValueError saying what to shorten when `work` is more than one call may ask for."""
    if work > MAX_TOOL_WORK:
        raise ValueError(
            f"this call is about {work:,.0f} candle evaluations, more than the "
            f"{MAX_TOOL_WORK:,} one call may ask for: give fewer values, fewer candles, "
            "fewer folds (a longer step) or a shorter level window"
        )


def walk_forward_work(
    strategy: str, points: Sequence[StrategyParams], candles: int, spans: Sequence[FoldSpans]
) -> float:
    """The candle evaluations of a walk-forward: every point on every in-sample window, then
    each fold's chosen point signalled again (at worst the costliest ones, one per fold) and
    traded on its out-of-sample window."""
    search = tool_work(strategy, points, candles, [(f.is_start, f.oos_start) for f in spans])
    costs = sorted((signal_cost(strategy, p) for p in points), reverse=True)
    chosen = sum(costs[: len(spans)]) * candles
    return search + chosen + _trading([(f.oos_start, f.oos_stop) for f in spans])
