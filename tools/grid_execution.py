"""Evaluating parameter points on candle windows: in this process, on local processes, or
through any map a caller passes in (the Ray runner in `evals` is one).

A point's signal is computed once, over the whole series, and sliced for each window. That is
honest because a strategy's signal is causal (`want[t]` reads candles 0..t only, tested for
every strategy): the slice of a window ending at t is what a trader who had the history up to
t would have computed, warm-up included, and no candle after the window is read. Trading a
window starts flat at its first candle. Signals that latch (a position held from an entry
event to an exit event) depend on where they start; computing them from the first candle of
the series, not of the window, is what a live trader with that history would have done.

The work is split into batches of points; a batch carries everything it needs (candles,
strategy name, points, windows, costs), so the same function runs in a worker process or on a
cluster, and the results come back in batch order: every executor gives the same numbers to
the bit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.market.series import CandleSeries
from tools.metrics import PerformanceMetrics
from tools.strategies import get_strategy
from tools.strategies.base import StrategyParams
from tools.vector_backtest import BacktestCosts, trade_signal

Span = tuple[int, int]
"""Candle indexes [start, stop) of one window."""
BatchScores = list[list[PerformanceMetrics]]
"""One row per point of a batch, one column per window."""

POINTS_PER_BATCH = 10
"""Small enough that a few workers share a 100-point grid evenly, large enough that sending
the candles with every batch costs nothing next to the work."""
IN_PROCESS_BELOW = 2_000_000
"""Work (`candle_evaluations`) under which a pool's start-up costs more than it saves: about
a third of a second in this process."""
MAX_WORKERS = 64
MAX_CANDLE_EVALUATIONS = 60_000_000
"""Bound on one call's work, in candles: every point's signal over the series, plus its
windows' candles, plus `WINDOW_OVERHEAD` per window. A busy two-core machine evaluates two to
seven million a second in one process, so one call cannot run for minutes."""
MAX_PERIOD_SECONDS = 7 * 86_400
WINDOW_OVERHEAD = 1_000
"""A window's fixed cost (a backtest and its metrics), in candles' worth of work."""


@dataclass(frozen=True)
class PointBatch:
    """Some points of one strategy, each to be traded on every window."""

    series: CandleSeries
    partner: CandleSeries | None
    strategy: str
    params: tuple[StrategyParams, ...]
    spans: tuple[Span, ...]
    costs: BacktestCosts
    period_seconds: float


def evaluate_batch(batch: PointBatch) -> BatchScores:
    """Every point's metrics on every window (module level, so any process can run it)."""
    strategy = get_strategy(batch.strategy)
    rows: BatchScores = []
    for params in batch.params:
        want = strategy.want(batch.series, params, batch.partner)
        rows.append(
            [
                trade_signal(
                    batch.series.window(start, stop), want[start:stop], batch.costs
                ).metrics(batch.period_seconds)
                for start, stop in batch.spans
            ]
        )
    return rows


class MapPoints(Protocol):
    """Runs `evaluate` on every batch and returns the results in the batches' order."""

    def __call__(
        self, evaluate: Callable[[PointBatch], BatchScores], batches: Sequence[PointBatch]
    ) -> list[BatchScores]: ...


def in_process(
    evaluate: Callable[[PointBatch], BatchScores], batches: Sequence[PointBatch]
) -> list[BatchScores]:
    """Each batch in turn, in this process."""
    return [evaluate(batch) for batch in batches]


def local_processes(workers: int | None = None) -> MapPoints:
    """A map over at most `workers` local processes (default: one per CPU), started the
    platform's default way, as the suite's local workers are; a pool per call."""
    count = workers if workers is not None else os.cpu_count() or 1
    if not 1 <= count <= MAX_WORKERS:
        raise ValueError(f"workers must be between 1 and {MAX_WORKERS}, not {count}")

    def run(
        evaluate: Callable[[PointBatch], BatchScores], batches: Sequence[PointBatch]
    ) -> list[BatchScores]:
        with ProcessPoolExecutor(max_workers=min(count, len(batches))) as pool:
            return list(pool.map(evaluate, batches))

    return run


def evaluate_points(
    series: CandleSeries,
    partner: CandleSeries | None,
    strategy: str,
    params: Sequence[StrategyParams],
    spans: Sequence[Span],
    costs: BacktestCosts,
    period_seconds: float,
    map_points: MapPoints | None = None,
) -> BatchScores:
    """Every point's metrics on every window, one row per point in the order given. Without
    `map_points`, small work runs in this process and the rest on local processes."""
    if not 0 < period_seconds <= MAX_PERIOD_SECONDS:
        raise ValueError(f"period_seconds must be above 0 and at most a week, not {period_seconds}")
    work = candle_evaluations(len(params), len(series), spans)
    if work > MAX_CANDLE_EVALUATIONS:
        raise ValueError(
            f"{len(params)} points on {len(spans)} windows of {len(series)} candles is "
            f"{work:,} candle evaluations, more than {MAX_CANDLE_EVALUATIONS:,}: "
            "give fewer points, fewer or shorter windows, or fewer candles"
        )
    if map_points is None:
        map_points = in_process if work < IN_PROCESS_BELOW else local_processes()
    batches = [
        PointBatch(
            series=series,
            partner=partner,
            strategy=strategy,
            params=tuple(params[first : first + POINTS_PER_BATCH]),
            spans=tuple(spans),
            costs=costs,
            period_seconds=period_seconds,
        )
        for first in range(0, len(params), POINTS_PER_BATCH)
    ]
    results = map_points(evaluate_batch, batches)
    if len(results) != len(batches):
        raise RuntimeError(f"the map returned {len(results)} results for {len(batches)} batches")
    return [row for rows in results for row in rows]


def candle_evaluations(points: int, candles: int, spans: Sequence[Span]) -> int:
    """The work of evaluating `points` on `spans` of a series of `candles`, in candles."""
    return points * (candles + sum(stop - start + WINDOW_OVERHEAD for start, stop in spans))


def candle_seconds(series: CandleSeries) -> float:
    """The series' candle length: the median spacing, so maintenance gaps do not change it."""
    if len(series) < 2:
        raise ValueError("a series of fewer than 2 candles has no candle length: give more")
    seconds = float(np.median(np.diff(series.ts))) / 1000.0
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("the candles' timestamps do not increase: give a valid series")
    return seconds
