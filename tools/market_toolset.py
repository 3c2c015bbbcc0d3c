"""Tools over a market the caller opened: indicators by name, the strategies, their backtests.

Each reads the candles of the context's market (or a decision cycle's closed candles up to
now), and the work it may ask for is bounded by its input: at most `MAX_CANDLES` candles
computed over and `MAX_VALUES` values returned, so a call stays well under a second.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, field_validator

from core.market.series import CandleSeries
from core.types import timeframe_seconds
from tools.registry import Tool, ToolContext, input_schema
from tools.strategies import STRATEGIES
from tools.strategy_backtest import StrategyBacktest, backtest_strategy
from tools.ta import INDICATORS, compute_indicator
from tools.vector_backtest import BROKER, BacktestCosts

MAX_CANDLES = 50_000
"""Latest candles one call may compute over: years of hourly candles, a month of minutes."""
MAX_VALUES = 500
"""Values of an indicator one call may return: more is noise to a model."""
MAX_PARAMS = 16

ParamValue = int | float | bool | str | None
SINGLE_MARKET = sorted(name for name, s in STRATEGIES.items() if not s.needs_partner)
"""The strategies backtest_strategy can trade: those that read no partner market."""


def choices(names: list[str]) -> dict[str, JsonValue]:
    """The names a string input may take, for its JSON schema."""
    values: list[JsonValue] = [*names]
    return {"enum": values}


def latest_candles(candles: CandleSeries, count: int) -> CandleSeries:
    return candles if len(candles) <= count else candles.window(len(candles) - count, len(candles))


def iso_time(ms: int) -> str:
    """A time in ms UTC as ISO 8601, the form every tool gives dates in."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def single_market_strategy(name: str) -> str:
    """`name` if it is a strategy that reads no partner market, else a ValueError naming them."""
    choose = f"use one of {', '.join(SINGLE_MARKET)}"
    if name not in STRATEGIES:
        raise ValueError(f"no strategy named {name!r}: {choose}")
    if name not in SINGLE_MARKET:
        raise ValueError(f"{name} needs a partner market, which this tool does not take: {choose}")
    return name


SingleMarketStrategy = Annotated[str, AfterValidator(single_market_strategy)]


def _significant(value: float) -> float | None:
    """8 significant digits; None for a value still warming up (NaN)."""
    return None if math.isnan(value) else float(f"{value:.8g}")


class IndicatorQuery(BaseModel):
    """An indicator by name, over the latest candles of the market."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = Field(description="the indicator", json_schema_extra=choices(sorted(INDICATORS)))
    params: dict[str, ParamValue] = Field(
        default_factory=dict,
        max_length=MAX_PARAMS,
        description="its parameters, each bounded (a bad one is answered with the valid ones)",
    )
    last: int = Field(default=50, ge=1, le=MAX_VALUES, description="latest values returned")
    window: int = Field(
        default=5000,
        ge=1,
        le=MAX_CANDLES,
        description="latest candles computed over, warm-up included",
    )

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in INDICATORS:
            raise ValueError(f"unknown indicator {name!r}: use one of {', '.join(INDICATORS)}")
        return name


class IndicatorValues(BaseModel):
    """The latest values of each output column (None while the indicator warms up), with the
    open time (ms UTC) of the candle each belongs to; `candles` were computed over."""

    model_config = ConfigDict(frozen=True)

    name: str
    params: dict[str, ParamValue]
    candles: int
    ts: list[int]
    values: dict[str, list[float | None]]


def _indicator(query: IndicatorQuery, context: ToolContext) -> IndicatorValues:
    market = context.need_market("indicator")
    series = latest_candles(market.candles, query.window)
    columns = compute_indicator(query.name, series, **query.params)
    params = INDICATORS[query.name].params.model_validate(query.params)
    shown = min(query.last, len(series))
    return IndicatorValues(
        name=query.name,
        params=params.model_dump(mode="json"),
        candles=len(series),
        ts=series.ts[len(series) - shown :].tolist(),
        values={
            column: [_significant(v) for v in values[len(series) - shown :].tolist()]
            for column, values in columns.items()
        },
    )


class NoInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StrategyEntry(BaseModel):
    """A strategy a backtest can name: what it does and its parameters' JSON schema."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    needs_partner: bool
    params_schema: dict[str, Any]


class StrategyCatalog(BaseModel):
    model_config = ConfigDict(frozen=True)

    strategies: list[StrategyEntry]


def _list_strategies(query: NoInput, context: ToolContext) -> StrategyCatalog:
    return StrategyCatalog(
        strategies=[
            StrategyEntry(
                name=s.name,
                description=s.description,
                needs_partner=s.needs_partner,
                params_schema=input_schema(s.params),
            )
            for s in STRATEGIES.values()
        ]
    )


class StrategyBacktestQuery(BaseModel):
    """A registered strategy backtested over the latest candles of the market."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    strategy: SingleMarketStrategy = Field(
        description="the strategy (see list_strategies)",
        json_schema_extra=choices(SINGLE_MARKET),
    )
    params: dict[str, ParamValue] = Field(
        default_factory=dict,
        max_length=MAX_PARAMS,
        description="the strategy's parameters (each bounded); omitted ones take defaults",
    )
    candles: int = Field(
        default=5000, ge=2, le=MAX_CANDLES, description="latest candles to backtest over"
    )
    fee_rate: float = Field(
        default=BROKER.fee_rate, ge=0, le=0.01, description="fee per side, fraction of notional"
    )
    slippage_bps: float = Field(
        default=BROKER.slippage_bps,
        ge=0,
        le=100,
        description="slippage per fill against the trade, in basis points",
    )


def _backtest_strategy(query: StrategyBacktestQuery, context: ToolContext) -> StrategyBacktest:
    market = context.need_market("backtest_strategy")
    costs = BacktestCosts(fee_rate=query.fee_rate, slippage_bps=query.slippage_bps)
    return backtest_strategy(
        query.strategy,
        latest_candles(market.candles, query.candles),
        dict(query.params),
        costs,
        timeframe_seconds=timeframe_seconds(market.info.timeframe),
    )


INDICATOR = Tool(
    name="indicator",
    description=(
        "Latest values of a technical indicator (TA-Lib: sma, ema, rsi, macd, bbands, atr, "
        "adx, ...; also realized volatility and the regime code) over the market's candles, "
        "None while it warms up. Each value reads only candles up to its own."
    ),
    input_model=IndicatorQuery,
    output_model=IndicatorValues,
    run=_indicator,
    scope="market",
    keep_none=True,
)

LIST_STRATEGIES = Tool(
    name="list_strategies",
    description=(
        "The strategies backtest_strategy can test: each one's rule in a line, whether it "
        "needs a partner market, and the JSON schema of its bounded parameters."
    ),
    input_model=NoInput,
    output_model=StrategyCatalog,
    run=_list_strategies,
    scope="market",
)

BACKTEST_STRATEGY = Tool(
    name="backtest_strategy",
    description=(
        "Backtest a named strategy (long-only spot) over the market's latest candles, filled "
        "at the next open with the paper broker's slippage and fees: return, Sharpe, "
        "drawdown, VaR/ES, trades and buy-and-hold on the same candles. Evidence, not a "
        "guarantee."
    ),
    input_model=StrategyBacktestQuery,
    output_model=StrategyBacktest,
    run=_backtest_strategy,
    scope="market",
    keep_none=True,
)

MARKET_TOOLSET: tuple[Tool[Any, Any], ...] = (INDICATOR, LIST_STRATEGIES, BACKTEST_STRATEGY)
