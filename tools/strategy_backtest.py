"""A named strategy backtested over candles: the report a person or a model reads.

The strategy's signal is traded by `tools.vector_backtest` (the engine's one fill model, from
the next open), and buy-and-hold is the same path with a signal that is always long, so both
pay the same costs on the same candles and their metrics compare like for like.

Warm-up: metrics start at the first candle, so the candles a strategy spends warming up
(`warmup_candles`, flat) are in every figure; an honest cost of starting the strategy on these
candles, and the same window buy-and-hold is measured over. A window under 30 days gets no
annualized figures, as in the evaluation report (`tools.metrics.without_annualized`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from core.market.series import CandleSeries, FloatArray, IntArray
from tools.fills import buy_cost_factor, sell_proceeds_factor
from tools.metrics import PerformanceMetrics, too_short_to_annualize, without_annualized
from tools.risk_metrics import TailRisk, tail_risk
from tools.strategies import get_strategy
from tools.strategies.base import Strategy, StrategyParams
from tools.vector_backtest import BacktestCosts, VectorRun, trade_signal


class TradeSummary(BaseModel):
    """The closed round trips. A trade's return is net of both fees and both slippages (what
    a unit sold brought in over what it cost); bars held count from the entry open to the
    exit open."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    count: int = Field(ge=0, description="closed round trips")
    win_rate: float = Field(ge=0, le=1, description="share of closed trades that made money")
    average_return: float = Field(ge=-1, description="mean net return of a closed trade")
    average_bars_held: float = Field(ge=0, description="mean candles a closed trade lasted")
    open_at_end: bool = Field(description="a position is still held at the last close")


@dataclass(frozen=True)
class Curves:
    """What a chart of the backtest plots, one point per moment: the first candle's open (the
    starting cash), then every close. Arrays are read-only."""

    time_ms: IntArray
    equity: FloatArray
    drawdown: FloatArray
    """Fall from the running peak of `equity`, a positive fraction."""
    buy_and_hold_equity: FloatArray


class StrategyBacktest(BaseModel):
    """One strategy with one set of parameters over one window of candles.

    `start` is the first candle's open time and `end` the last candle's close time (UTC, ISO
    8601). `last_signal` is what the strategy wants at the last close: not yet filled. The
    arrays for a chart are not part of the JSON dump; `curves()` returns them."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    strategy: str
    params: dict[str, Any]
    candles: int = Field(ge=2)
    timeframe_seconds: int = Field(gt=0)
    start: str
    end: str
    costs: BacktestCosts
    warmup_candles: int = Field(ge=0, description="flat candles before the signal can be long")
    metrics: PerformanceMetrics
    tail_risk: TailRisk
    buy_and_hold_return: float = Field(ge=-1)
    buy_and_hold: PerformanceMetrics
    trades: TradeSummary
    last_signal: Literal["long", "flat"]
    _curves: Curves | None = PrivateAttr(default=None)

    def curves(self) -> Curves:
        if self._curves is None:
            raise ValueError("this backtest was rebuilt from JSON: its curves were not kept")
        return self._curves


def backtest_strategy(
    strategy: str | Strategy[Any],
    series: CandleSeries,
    params: dict[str, Any] | StrategyParams | None = None,
    costs: BacktestCosts | None = None,
    partner: CandleSeries | None = None,
    *,
    timeframe_seconds: int,
) -> StrategyBacktest:
    """Backtest `strategy` (a name or a Strategy) over `series` with `params` (its defaults
    when None), trading from the next open at `costs` (the paper broker's by default)."""
    chosen = get_strategy(strategy) if isinstance(strategy, str) else strategy
    validated = validated_params(chosen, params)
    costs = costs or BacktestCosts()
    n = len(series)
    if n < 2:
        raise ValueError(
            f"a backtest needs at least 2 candles (it fills at the next open), got {n}"
        )
    if timeframe_seconds <= 0:
        raise ValueError(f"timeframe_seconds must be positive, got {timeframe_seconds}")
    want = chosen.want(series, validated, partner)
    run = trade_signal(series, want, costs)
    held = trade_signal(series, np.ones(n, dtype=np.bool_), costs)
    window_seconds = n * timeframe_seconds
    report = StrategyBacktest(
        strategy=chosen.name,
        params=validated.model_dump(mode="json"),
        candles=n,
        timeframe_seconds=timeframe_seconds,
        start=_iso(int(series.ts[0])),
        end=_iso(int(series.ts[-1]) + timeframe_seconds * 1000),
        costs=costs,
        warmup_candles=chosen.warmup(validated),
        metrics=_metrics(run, timeframe_seconds, window_seconds),
        tail_risk=tail_risk(run.equity, period_seconds=timeframe_seconds),
        buy_and_hold_return=float(held.equity[-1] / held.equity[0] - 1.0),
        buy_and_hold=_metrics(held, timeframe_seconds, window_seconds),
        trades=summarize_trades(run, costs.fee_rate),
        last_signal="long" if want[-1] else "flat",
    )
    report._curves = _curves(series, run, held, timeframe_seconds)
    return report


def validated_params(
    strategy: Strategy[Any], params: dict[str, Any] | StrategyParams | None
) -> StrategyParams:
    """`params` as the strategy's parameter model, or a one-line ValueError naming the field,
    what it must be and what it got."""
    if isinstance(params, StrategyParams):
        if not issubclass(type(params), strategy.params):
            raise ValueError(
                f"{strategy.name} takes {strategy.params.__name__}, not {type(params).__name__}"
            )
        return params
    try:
        model: StrategyParams = strategy.params.model_validate(params or {})
    except ValidationError as exc:
        fields = ", ".join(strategy.params.model_fields)
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise ValueError(f"{strategy.name} params: {problems} (fields: {fields})") from None
    return model


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not where:
        return message
    if error["type"] == "extra_forbidden":
        return f"{where} is not a parameter"
    return f"{where}: {message} (got {error['input']!r})"


def summarize_trades(run: VectorRun, fee_rate: float) -> TradeSummary:
    closed = run.exits.size
    if closed == 0:
        return TradeSummary(
            count=0,
            win_rate=0.0,
            average_return=0.0,
            average_bars_held=0.0,
            open_at_end=bool(run.entries.size),
        )
    entry_prices = run.entry_prices[:closed]
    returns = (
        sell_proceeds_factor(run.exit_prices, fee_rate) / buy_cost_factor(entry_prices, fee_rate)
        - 1.0
    )
    return TradeSummary(
        count=closed,
        win_rate=float(np.count_nonzero(run.trade_pnls > 0)) / closed,
        average_return=float(returns.mean()),
        average_bars_held=float((run.exits - run.entries[:closed]).mean()),
        open_at_end=run.entries.size > closed,
    )


def _metrics(run: VectorRun, timeframe_seconds: int, window_seconds: int) -> PerformanceMetrics:
    metrics = run.metrics(timeframe_seconds)
    return without_annualized(metrics) if too_short_to_annualize(window_seconds) else metrics


def _curves(
    series: CandleSeries, run: VectorRun, held: VectorRun, timeframe_seconds: int
) -> Curves:
    time_ms = np.empty(len(series) + 1, dtype=np.int64)
    time_ms[0] = series.ts[0]
    time_ms[1:] = series.ts + timeframe_seconds * 1000
    peaks = np.maximum.accumulate(run.equity)
    drawdown = np.where(peaks > 0, 1.0 - run.equity / np.where(peaks > 0, peaks, 1.0), 0.0)
    arrays = (time_ms, run.equity.copy(), drawdown, held.equity.copy())
    for array in arrays:
        array.flags.writeable = False
    return Curves(*arrays)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
