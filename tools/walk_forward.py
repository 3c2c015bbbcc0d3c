"""Walk-forward: choose parameters on a past window, trade them on the next, and measure how
much of the in-sample score survives out of sample (the gap is the overfitting).

Fold k chooses, among the grid's points, the one with the best objective on its in-sample
window (ties to the point given first), then trades that point on the out-of-sample window
that follows. Every point's signal is computed once over the series, which is causal (see
`tools.grid_execution`): the out-of-sample slice is the signal as of each of its candles, its
warm-up taken from the candles before the window, and nothing after the window's last candle
is read (the series is cut after the last fold, and the candle length is measured on the
first in-sample window). Each window's trading starts flat at its first candle.

The stitched out-of-sample equity chains the folds: each fold's account starts with the
equity the previous one ended with; a position still open at a fold's end is marked at its
last close, as any backtest's last position is.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.market.series import CandleSeries
from tools.grid import (
    OBJECTIVES,
    Objective,
    ParameterGrid,
    ParamValue,
    Window,
    best_index,
    objective_value,
)
from tools.grid_execution import MapPoints, candle_seconds, evaluate_points
from tools.metrics import PerformanceMetrics, performance
from tools.strategies import get_strategy
from tools.strategies.base import BoolArray
from tools.vector_backtest import BacktestCosts, VectorRun, trade_signal

MIN_WINDOW = 20
"""Candles in a window: fewer say nothing about a strategy's return or its Sharpe ratio."""
MAX_WINDOW = 1_000_000
MAX_FOLDS = 500

_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True)
class FoldSpans:
    """Candle indexes of one fold: in-sample [is_start, oos_start), then [oos_start, oos_stop)."""

    is_start: int
    oos_start: int
    oos_stop: int


class WalkForwardWindows(BaseModel):
    """How the series is cut into folds, in candles."""

    model_config = _FROZEN

    in_sample: int = Field(
        ge=MIN_WINDOW, le=MAX_WINDOW, description="candles each fold chooses its parameters on"
    )
    out_of_sample: int = Field(
        ge=MIN_WINDOW, le=MAX_WINDOW, description="candles the chosen parameters then trade"
    )
    step: int = Field(ge=MIN_WINDOW, le=MAX_WINDOW, description="candles from one fold to the next")
    anchored: bool = Field(
        default=False, description="every in-sample window starts at the first candle and grows"
    )

    @model_validator(mode="after")
    def _not_overlapping(self) -> Self:
        if self.step < self.out_of_sample:
            raise ValueError(
                f"step ({self.step}) is shorter than out_of_sample ({self.out_of_sample}): "
                "out-of-sample windows would overlap; give a step of at least out_of_sample"
            )
        return self

    def folds(self, candles: int) -> list[FoldSpans]:
        """Every fold whose out-of-sample window fits in `candles`, in order."""
        starts = range(self.in_sample, candles - self.out_of_sample + 1, self.step)
        if not starts:
            raise ValueError(
                f"{candles} candles are too few for one fold of {self.in_sample} in-sample and "
                f"{self.out_of_sample} out-of-sample candles: give more candles or shorter windows"
            )
        if len(starts) > MAX_FOLDS:
            raise ValueError(
                f"{len(starts)} folds is more than {MAX_FOLDS}: give a larger step or fewer candles"
            )
        return [
            FoldSpans(
                is_start=0 if self.anchored else start - self.in_sample,
                oos_start=start,
                oos_stop=start + self.out_of_sample,
            )
            for start in starts
        ]


class Fold(BaseModel):
    """One fold: its windows, the parameters its in-sample window chose, and both scores
    (the objective's value) and returns."""

    model_config = _FROZEN

    index: int
    in_sample: Window
    out_of_sample: Window
    params: dict[str, ParamValue]
    in_sample_score: float
    in_sample_return: float
    out_of_sample_score: float
    out_of_sample_return: float
    out_of_sample_trades: int


class WalkForwardResult(BaseModel):
    """The folds, the stitched out-of-sample record and what it says about overfitting."""

    model_config = _FROZEN

    strategy: str
    objective: Objective
    windows: WalkForwardWindows
    points: int = Field(description="valid grid points compared in every fold")
    skipped: int = Field(description="grid combinations the strategy refused as a whole")
    folds: tuple[Fold, ...]
    equity: tuple[float, ...] = Field(
        description="stitched out-of-sample equity: the starting cash, then every close"
    )
    stitched: PerformanceMetrics
    mean_in_sample_score: float
    mean_out_of_sample_score: float
    overfitting_gap: float = Field(description="mean in-sample minus mean out-of-sample score")
    positive_share: float = Field(description="share of folds with a positive OOS return")
    parameter_changes: int = Field(description="folds whose parameters differ from the last")
    parameter_stability: float = Field(
        description="share of consecutive folds that kept the same parameters"
    )


def walk_forward(
    series: CandleSeries,
    grid: ParameterGrid,
    costs: BacktestCosts | None = None,
    *,
    in_sample: int,
    out_of_sample: int,
    step: int | None = None,
    objective: Objective = "sharpe",
    anchored: bool = False,
    partner: CandleSeries | None = None,
    period_seconds: float | None = None,
    map_points: MapPoints | None = None,
) -> WalkForwardResult:
    """Walk `grid` forward over `series` (windows in candles; `step` defaults to
    `out_of_sample`). `map_points` runs the in-sample evaluations: by default this process
    for small work and local processes otherwise; `evals.walk_forward_ray` sends them to Ray."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: use one of {', '.join(OBJECTIVES)}")
    windows = WalkForwardWindows(
        in_sample=in_sample,
        out_of_sample=out_of_sample,
        step=out_of_sample if step is None else step,
        anchored=anchored,
    )
    spans = windows.folds(len(series))
    end = spans[-1].oos_stop
    series = series.window(0, end)
    partner = None if partner is None else partner.window(0, end)
    points = grid.points()
    period = (
        candle_seconds(series.window(0, windows.in_sample))
        if period_seconds is None
        else period_seconds
    )
    costs = costs or BacktestCosts()
    rows = evaluate_points(
        series, partner, grid.strategy, points.params,
        [(fold.is_start, fold.oos_start) for fold in spans], costs, period, map_points,
    )  # fmt: skip
    strategy = get_strategy(grid.strategy)
    wants: dict[int, BoolArray] = {}
    folds: list[Fold] = []
    runs: list[VectorRun] = []
    for k, fold in enumerate(spans):
        chosen = best_index([objective_value(row[k], objective) for row in rows])
        if chosen not in wants:
            wants[chosen] = strategy.want(series, points.params[chosen], partner)
        start, stop = fold.oos_start, fold.oos_stop
        run = trade_signal(series.window(start, stop), wants[chosen][start:stop], costs)
        outside = run.metrics(period)
        inside = rows[chosen][k]
        runs.append(run)
        folds.append(
            Fold(
                index=k,
                in_sample=Window.of(series, fold.is_start, start),
                out_of_sample=Window.of(series, start, stop),
                params=points.params[chosen].model_dump(),
                in_sample_score=objective_value(inside, objective),
                in_sample_return=inside.total_return,
                out_of_sample_score=objective_value(outside, objective),
                out_of_sample_return=outside.total_return,
                out_of_sample_trades=outside.trades,
            )
        )
    equity, stitched = _stitched(runs, period)
    mean_in = float(np.mean([f.in_sample_score for f in folds]))
    mean_out = float(np.mean([f.out_of_sample_score for f in folds]))
    changes = sum(1 for a, b in itertools.pairwise(folds) if a.params != b.params)
    return WalkForwardResult(
        strategy=grid.strategy,
        objective=objective,
        windows=windows,
        points=len(points.params),
        skipped=points.skipped,
        folds=tuple(folds),
        equity=tuple(equity.tolist()),
        stitched=stitched,
        mean_in_sample_score=mean_in,
        mean_out_of_sample_score=mean_out,
        overfitting_gap=mean_in - mean_out,
        positive_share=sum(1 for f in folds if f.out_of_sample_return > 0) / len(folds),
        parameter_changes=changes,
        parameter_stability=1.0 - changes / (len(folds) - 1) if len(folds) > 1 else 1.0,
    )


def _stitched(runs: list[VectorRun], period: float) -> tuple[np.ndarray, PerformanceMetrics]:
    """The folds' equity chained into one account, and its metrics."""
    level = float(runs[0].equity[0])
    pieces = [np.array([level])]
    pnls: list[np.ndarray] = []
    exposed, notional, fees = 0, 0.0, 0.0
    for run in runs:
        scale = level / float(run.equity[0])
        pieces.append(run.equity[1:] * scale)
        pnls.append(run.trade_pnls * scale)
        exposed += run.bars_exposed
        notional += run.traded_notional * scale
        fees += run.fees_paid * scale
        level = float(pieces[-1][-1])
    equity = np.concatenate(pieces)
    metrics = performance(
        equity.tolist(),
        period_seconds=period,
        trade_pnls=np.concatenate(pnls).tolist(),
        bars_exposed=exposed,
        traded_notional=notional,
        fees_paid=fees,
    )
    return equity, metrics
