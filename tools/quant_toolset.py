"""What the market's latest candles say about risk and price levels, as tools: tail_risk
(historical VaR and expected shortfall) and levels (support, resistance, volume profile).

Both read the context's market (or a decision cycle's closed candles up to now) and nothing
else; each reads only the latest candles its input bounds.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.types import timeframe_seconds
from tools.levels import LevelsNow, levels_now
from tools.market_toolset import (
    MAX_CANDLES,
    MAX_PARAMS,
    SINGLE_MARKET,
    ParamValue,
    choices,
    iso_time,
    latest_candles,
    single_market_strategy,
)
from tools.registry import Tool, ToolContext
from tools.risk_metrics import TailRisk, tail_risk
from tools.strategies import get_strategy
from tools.strategy_backtest import backtest_strategy, validated_params
from tools.tool_work import check_tool_work, tool_work

BUY_AND_HOLD = "buy_and_hold"
"""The market itself: its own candle returns, no strategy and no costs."""
MIN_TAIL_CANDLES = 100
"""A 99% tail of fewer candle returns is a single candle."""

_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _market_or_strategy(name: str) -> str:
    return name if name == BUY_AND_HOLD else single_market_strategy(name)


class TailRiskQuery(BaseModel):
    """VaR and expected shortfall of the market's latest candles, held or traded."""

    model_config = _FROZEN

    strategy: Annotated[str, AfterValidator(_market_or_strategy)] = Field(
        default=BUY_AND_HOLD,
        description="buy_and_hold (the market's own returns) or a strategy to backtest and measure",
        json_schema_extra=choices([BUY_AND_HOLD, *SINGLE_MARKET]),
    )
    params: dict[str, ParamValue] = Field(
        default_factory=dict,
        max_length=MAX_PARAMS,
        description="the strategy's parameters (each bounded); omitted ones take defaults",
    )
    candles: int = Field(
        default=5000,
        ge=MIN_TAIL_CANDLES,
        le=MAX_CANDLES,
        description="latest candles whose returns the tail is read from",
    )

    @model_validator(mode="after")
    def _no_params_to_hold(self) -> TailRiskQuery:
        if self.strategy == BUY_AND_HOLD and self.params:
            raise ValueError("params: buy_and_hold takes none, name a strategy to pass them to")
        return self


class TailRiskReport(BaseModel):
    """The tail of one equity curve over [start, end) (UTC, ISO 8601): the market held
    (open of the first candle, then every close) or a strategy's backtest at the paper
    broker's costs. Losses are positive fractions, one candle ahead (`_1d`: scaled to a day)."""

    model_config = ConfigDict(frozen=True)

    strategy: str
    params: dict[str, Any]
    candles: int
    start: str
    end: str
    tail_risk: TailRisk


def _tail_risk(query: TailRiskQuery, context: ToolContext) -> TailRiskReport:
    market = context.need_market("tail_risk")
    series = latest_candles(market.candles, query.candles)
    period = timeframe_seconds(market.info.timeframe)
    if query.strategy == BUY_AND_HOLD:
        params: dict[str, Any] = {}
        equity = np.concatenate([series.open[:1], series.close])
        risk = tail_risk(equity, period_seconds=period)
    else:
        strategy = get_strategy(query.strategy)
        validated = validated_params(strategy, dict(query.params))
        check_tool_work(tool_work(strategy.name, [validated], len(series), [(0, len(series))]))
        report = backtest_strategy(strategy, series, validated, timeframe_seconds=period)
        params, risk = report.params, report.tail_risk
    return TailRiskReport(
        strategy=query.strategy,
        params=params,
        candles=len(series),
        start=iso_time(int(series.ts[0])),
        end=iso_time(int(series.ts[-1]) + period * 1000),
        tail_risk=risk,
    )


class LevelsQuery(BaseModel):
    """Support, resistance and the volume profile around the market's last close."""

    model_config = _FROZEN

    window: int = Field(
        default=100,
        ge=10,
        le=10_000,
        description="latest candles whose swing pivots and volume profile count",
    )
    pivot: int = Field(
        default=5,
        ge=1,
        le=100,
        description="candles either side of a swing high or low (it is confirmed that much later)",
    )
    bins: int = Field(default=24, ge=2, le=200, description="price bins of the volume profile")
    value_area: float = Field(
        default=0.7, ge=0.5, le=0.95, description="share of the volume in the value area"
    )
    count: int = Field(default=3, ge=1, le=20, description="supports and resistances returned")


class MarketLevels(BaseModel):
    """The levels as of the last close (`as_of`, UTC, ISO 8601), nearest first; the volume
    profile figures are None when the window traded no volume."""

    model_config = ConfigDict(frozen=True)

    as_of: str
    window: int
    pivot: int
    levels: LevelsNow


def _levels(query: LevelsQuery, context: ToolContext) -> MarketLevels:
    market = context.need_market("levels")
    # levels_now reads the last `window` candles and, for the pivots among them, `pivot`
    # candles before: the rest of a long history changes nothing and costs time.
    series = latest_candles(market.candles, query.window + query.pivot + 1)
    found = levels_now(series, query.window, query.pivot, query.bins, query.value_area, query.count)
    return MarketLevels(
        as_of=iso_time(int(series.ts[-1]) + timeframe_seconds(market.info.timeframe) * 1000),
        window=query.window,
        pivot=query.pivot,
        levels=found,
    )


TAIL_RISK = Tool(
    name="tail_risk",
    description=(
        "Historical value at risk and expected shortfall at 95% and 99% (per candle and "
        "scaled to a day) of the market's latest candle returns, held, or of a named "
        "strategy's backtest equity on them."
    ),
    input_model=TailRiskQuery,
    output_model=TailRiskReport,
    run=_tail_risk,
    scope="market",
)

LEVELS = Tool(
    name="levels",
    description=(
        "Nearest confirmed supports below and resistances above the market's last close (swing "
        "pivots in the latest window) and that window's volume profile: point of control and "
        "value area."
    ),
    input_model=LevelsQuery,
    output_model=MarketLevels,
    run=_levels,
    scope="market",
    keep_none=True,
)

QUANT_TOOLSET: tuple[Tool[Any, Any], ...] = (TAIL_RISK, LEVELS)
