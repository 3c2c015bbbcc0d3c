"""Parameter search as tools: walk_forward (choose on a past window, trade the next one) and
grid_search (every point ranked on one window, in-sample).

Both read the latest candles of the context's market, run their points in this process
(`tools.grid_execution.in_process`: a tool call never starts processes), and refuse a call
asking for more than `tools.tool_work.MAX_TOOL_WORK`. The walk-forward's answer is its result
without the per-candle equity, which is thousands of numbers a model cannot use.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.market.series import CandleSeries
from core.types import timeframe_seconds
from tools.grid import GridPoint, Objective, ParameterGrid, grid_search
from tools.grid_execution import in_process
from tools.market_toolset import (
    MAX_CANDLES,
    MAX_PARAMS,
    SINGLE_MARKET,
    ParamValue,
    SingleMarketStrategy,
    choices,
    iso_time,
    latest_candles,
)
from tools.metrics import PerformanceMetrics
from tools.registry import Tool, ToolContext, parse_nested
from tools.tool_work import check_tool_work, tool_work, walk_forward_work
from tools.vector_backtest import BROKER, BacktestCosts, trade_signal
from tools.walk_forward import MIN_WINDOW, WalkForwardResult, WalkForwardWindows, walk_forward

MAX_TOOL_GRID_POINTS = 100
"""Combinations one call may search: more is a search a model should narrow first."""
MAX_TOP = 20

Values = Annotated[list[ParamValue], Field(min_length=1, max_length=MAX_TOOL_GRID_POINTS)]


class GridFields(BaseModel):
    """What both searches take: the strategy, its grid, the objective and the costs."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    strategy: SingleMarketStrategy = Field(
        description="the strategy (see list_strategies)",
        json_schema_extra=choices(SINGLE_MARKET),
    )
    values: dict[str, Values] = Field(
        default_factory=dict,
        max_length=MAX_PARAMS,
        description=(
            f"parameter -> the values to try, at most {MAX_TOOL_GRID_POINTS} combinations "
            "in all; parameters not named keep their defaults"
        ),
    )
    objective: Objective = Field(default="sharpe", description="the figure points are ranked by")
    fee_rate: float = Field(
        default=BROKER.fee_rate, ge=0, le=0.01, description="fee per side, fraction of notional"
    )
    slippage_bps: float = Field(
        default=BROKER.slippage_bps,
        ge=0,
        le=100,
        description="slippage per fill against the trade, in basis points",
    )

    @field_validator("values")
    @classmethod
    def _few_combinations(cls, values: dict[str, list[ParamValue]]) -> dict[str, list[ParamValue]]:
        size = math.prod(len(candidates) for candidates in values.values())
        if size > MAX_TOOL_GRID_POINTS:
            raise ValueError(
                f"the grid has {size} combinations, more than {MAX_TOOL_GRID_POINTS} for one "
                "call: give fewer values"
            )
        return values

    def grid(self) -> ParameterGrid:
        """The grid, or a ValueError at `values` (an unknown parameter, a value out of bounds)."""
        return parse_nested(
            ParameterGrid, {"strategy": self.strategy, "values": self.values}, "values"
        )

    def costs(self) -> BacktestCosts:
        return BacktestCosts(fee_rate=self.fee_rate, slippage_bps=self.slippage_bps)


class WalkForwardQuery(GridFields):
    """A strategy's grid walked forward over the latest candles of the market."""

    candles: int = Field(
        default=5000,
        ge=2 * MIN_WINDOW,
        le=MAX_CANDLES,
        description="latest candles the folds are cut from",
    )
    in_sample: int = Field(
        default=2000,
        ge=MIN_WINDOW,
        le=MAX_CANDLES,
        description="candles each fold chooses its parameters on",
    )
    out_of_sample: int = Field(
        default=500,
        ge=MIN_WINDOW,
        le=MAX_CANDLES,
        description="candles the chosen parameters then trade",
    )
    step: int | None = Field(
        default=None,
        ge=MIN_WINDOW,
        le=MAX_CANDLES,
        description="candles from one fold to the next, at least out_of_sample (default)",
    )
    anchored: bool = Field(
        default=False, description="every in-sample window starts at the first candle and grows"
    )


class WalkForwardFold(BaseModel):
    """One fold, chosen on [in_sample_start, out_of_sample_start) and traded on
    [out_of_sample_start, out_of_sample_end) (UTC, ISO 8601); scores are the objective's."""

    model_config = ConfigDict(frozen=True)

    index: int
    in_sample_start: str
    out_of_sample_start: str
    out_of_sample_end: str
    params: dict[str, ParamValue]
    in_sample_score: float
    in_sample_return: float
    out_of_sample_score: float
    out_of_sample_return: float
    out_of_sample_trades: int


class WalkForwardSummary(BaseModel):
    """A walk-forward without its per-candle equity: the folds, the stitched out-of-sample
    metrics and what they say about overfitting, with buy-and-hold's return over the same
    out-of-sample span at the same costs."""

    model_config = ConfigDict(frozen=True)

    strategy: str
    objective: Objective
    candles: int = Field(description="latest candles the folds were cut from")
    windows: WalkForwardWindows
    points: int = Field(description="valid grid points compared in every fold")
    skipped: int = Field(description="grid combinations the strategy refused as a whole")
    folds: list[WalkForwardFold]
    stitched: PerformanceMetrics
    buy_and_hold_return: float
    mean_in_sample_score: float
    mean_out_of_sample_score: float
    overfitting_gap: float = Field(description="mean in-sample minus mean out-of-sample score")
    positive_share: float = Field(description="share of folds with a positive OOS return")
    parameter_changes: int = Field(description="folds whose parameters differ from the last")
    parameter_stability: float = Field(
        description="share of consecutive folds that kept the same parameters"
    )


def summarize_walk_forward(
    result: WalkForwardResult, series: CandleSeries, costs: BacktestCosts, period_seconds: int
) -> WalkForwardSummary:
    """`result` (walked over `series`) without its equity, with dates and buy-and-hold."""
    first, last = result.folds[0].out_of_sample.start, result.folds[-1].out_of_sample.stop
    span = series.window(first, last)
    held = trade_signal(span, np.ones(len(span), dtype=np.bool_), costs)
    return WalkForwardSummary(
        strategy=result.strategy,
        objective=result.objective,
        candles=len(series),
        windows=result.windows,
        points=result.points,
        skipped=result.skipped,
        folds=[
            WalkForwardFold(
                index=fold.index,
                in_sample_start=iso_time(fold.in_sample.first_ts),
                out_of_sample_start=iso_time(fold.out_of_sample.first_ts),
                out_of_sample_end=iso_time(fold.out_of_sample.last_ts + period_seconds * 1000),
                params=fold.params,
                in_sample_score=fold.in_sample_score,
                in_sample_return=fold.in_sample_return,
                out_of_sample_score=fold.out_of_sample_score,
                out_of_sample_return=fold.out_of_sample_return,
                out_of_sample_trades=fold.out_of_sample_trades,
            )
            for fold in result.folds
        ],
        stitched=result.stitched,
        buy_and_hold_return=float(held.equity[-1] / held.equity[0] - 1.0),
        mean_in_sample_score=result.mean_in_sample_score,
        mean_out_of_sample_score=result.mean_out_of_sample_score,
        overfitting_gap=result.overfitting_gap,
        positive_share=result.positive_share,
        parameter_changes=result.parameter_changes,
        parameter_stability=result.parameter_stability,
    )


def _walk_forward(query: WalkForwardQuery, context: ToolContext) -> WalkForwardSummary:
    market = context.need_market("walk_forward")
    series = latest_candles(market.candles, query.candles)
    grid = query.grid()
    windows = parse_nested(
        WalkForwardWindows,
        {
            "in_sample": query.in_sample,
            "out_of_sample": query.out_of_sample,
            "step": query.out_of_sample if query.step is None else query.step,
            "anchored": query.anchored,
        },
        "step",
    )
    spans = windows.folds(len(series))
    check_tool_work(
        walk_forward_work(grid.strategy, grid.points().params, spans[-1].oos_stop, spans)
    )
    period = timeframe_seconds(market.info.timeframe)
    costs = query.costs()
    result = walk_forward(
        series, grid, costs,
        in_sample=windows.in_sample, out_of_sample=windows.out_of_sample, step=windows.step,
        objective=query.objective, anchored=windows.anchored,
        period_seconds=period, map_points=in_process,
    )  # fmt: skip
    return summarize_walk_forward(result, series, costs, period)


class GridSearchQuery(GridFields):
    """A strategy's grid, every point traded on the latest candles of the market and ranked."""

    candles: int = Field(
        default=5000,
        ge=MIN_WINDOW,
        le=MAX_CANDLES,
        description="latest candles every point is traded on",
    )
    top: int = Field(default=5, ge=1, le=MAX_TOP, description="best points returned")


class GridSearchSummary(BaseModel):
    """The best points of a grid on one window (UTC, ISO 8601), best first. In-sample: each
    score is measured on the candles the point was chosen on, so the best is flattered;
    walk_forward measures what survives out of sample."""

    model_config = ConfigDict(frozen=True)

    strategy: str
    objective: Objective
    in_sample: Literal[True] = True
    candles: int
    start: str
    end: str
    points: int = Field(description="valid grid points ranked")
    skipped: int = Field(description="grid combinations the strategy refused as a whole")
    top: list[GridPoint]


def _grid_search(query: GridSearchQuery, context: ToolContext) -> GridSearchSummary:
    market = context.need_market("grid_search")
    series = latest_candles(market.candles, query.candles)
    grid = query.grid()
    check_tool_work(tool_work(grid.strategy, grid.points().params, len(series), [(0, len(series))]))
    period = timeframe_seconds(market.info.timeframe)
    found = grid_search(
        series, grid, query.costs(), query.objective, period_seconds=period, map_points=in_process
    )
    return GridSearchSummary(
        strategy=found.strategy,
        objective=found.objective,
        candles=len(series),
        start=iso_time(found.window.first_ts),
        end=iso_time(found.window.last_ts + period * 1000),
        points=len(found.points),
        skipped=found.skipped,
        top=list(found.points[: query.top]),
    )


WALK_FORWARD = Tool(
    name="walk_forward",
    description=(
        "Walk a strategy's parameter grid forward over the market's latest candles: each fold "
        "picks the best point on its in-sample window and trades it on the next candles; gives "
        "every fold, the stitched out-of-sample metrics, the overfitting gap, parameter "
        "stability and buy-and-hold over the same span."
    ),
    input_model=WalkForwardQuery,
    output_model=WalkForwardSummary,
    run=_walk_forward,
    scope="market",
    keep_none=True,
)

GRID_SEARCH = Tool(
    name="grid_search",
    description=(
        "Rank every point of a strategy's parameter grid by an objective on the market's "
        "latest candles and return the best few with their metrics. In-sample, so the best "
        "score is flattered: confirm it with walk_forward."
    ),
    input_model=GridSearchQuery,
    output_model=GridSearchSummary,
    run=_grid_search,
    scope="market",
    keep_none=True,
)

GRID_TOOLSET: tuple[Tool[Any, Any], ...] = (WALK_FORWARD, GRID_SEARCH)
