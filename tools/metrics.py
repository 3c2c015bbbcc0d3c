"""Performance metrics of an equity curve: drawdown, return, and the full set a report shows."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from core.types import Side
from tools.fills import affordable_quantity, fee, market_fill_price


def max_drawdown(equity: Sequence[float]) -> float:
    """Largest fall from a running peak, as a positive fraction (0.25 means -25%)."""
    curve = np.asarray(equity, dtype=np.float64)
    if curve.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(curve)
    drawdowns = np.where(peaks > 0, 1.0 - curve / peaks, 0.0)
    return float(drawdowns.max())


def total_return(equity: Sequence[float]) -> float:
    if len(equity) == 0 or equity[0] == 0:
        return 0.0
    return float(equity[-1] / equity[0] - 1.0)


def buy_and_hold_return(
    opens: Sequence[float] | np.ndarray,
    closes: Sequence[float] | np.ndarray,
    *,
    fee_rate: float,
    slippage_bps: float,
    initial_cash: float,
) -> float:
    """Buy-and-hold as the paper broker would fill it, the one definition every summary,
    report and backtest uses: `initial_cash` all in at the second candle's open (the first
    decision is taken at the first close) by the fill model (slippage against the buy, the
    taker fee, the quantity rounded down), marked at the last close. The arithmetic is the
    ledger's, so the buy-and-hold baseline's equity curve ends on exactly this return."""
    if len(closes) < 2 or initial_cash <= 0:
        return 0.0
    price = market_fill_price(float(opens[1]), Side.BUY, slippage_bps)
    quantity = affordable_quantity(initial_cash, price, fee_rate)
    notional = quantity * price
    cash_left = initial_cash - notional - fee(notional, fee_rate)
    return float((cash_left + quantity * closes[-1]) / initial_cash - 1.0)


YEAR_SECONDS = 365 * 86_400
"""Crypto trades every day: annualization uses 365 days of the timeframe's candles."""


class PerformanceMetrics(BaseModel):
    """The metrics a trader reads first, from an equity curve sampled once per candle.

    Returns are candle to candle; `sharpe` and `sortino` assume a zero risk-free rate and are
    annualized with 365 days of candles, as is `volatility`; `max_drawdown` is a positive
    fraction; `exposure` is the share of candles with a position; `turnover` is the traded
    notional over the average equity; `win_rate` is over closed trades."""

    model_config = ConfigDict(frozen=True)

    total_return: float
    cagr: float | None
    """None (like sharpe, sortino and calmar) when the window is too short to annualize."""
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown: float
    volatility: float
    win_rate: float
    trades: int
    exposure: float
    turnover: float
    fees_paid: float


def performance(
    equity: Sequence[float],
    *,
    period_seconds: float,
    trade_pnls: Sequence[float] = (),
    bars_exposed: int = 0,
    traded_notional: float = 0.0,
    fees_paid: float = 0.0,
) -> PerformanceMetrics:
    """Metrics of `equity` (its first value is the starting capital, then one value per
    candle close); the rest describe the trading that produced it."""
    curve = np.asarray(equity, dtype=np.float64)
    if curve.size < 2 or curve[0] <= 0:
        return PerformanceMetrics(
            total_return=0.0, cagr=0.0, sharpe=0.0, sortino=0.0, calmar=0.0,
            max_drawdown=0.0, volatility=0.0, win_rate=0.0, trades=len(trade_pnls),
            exposure=0.0, turnover=0.0, fees_paid=fees_paid,
        )  # fmt: skip
    per_year = YEAR_SECONDS / period_seconds
    previous = curve[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(
            previous > 0, curve[1:] / np.where(previous > 0, previous, 1.0) - 1.0, 0.0
        )
    growth = curve[-1] / curve[0]
    years = returns.size / per_year
    cagr = _cagr(growth, years)
    spread = float(returns.std(ddof=1)) if returns.size > 1 else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    mean = float(returns.mean())
    drawdown = max_drawdown(curve.tolist())
    wins = sum(1 for pnl in trade_pnls if pnl > 0)
    return _finite(
        total_return=float(growth - 1.0),
        cagr=cagr,
        sharpe=mean / spread * math.sqrt(per_year) if spread > 0 else 0.0,
        sortino=mean / downside * math.sqrt(per_year) if downside > 0 else 0.0,
        calmar=cagr / drawdown if drawdown > 0 else 0.0,
        max_drawdown=drawdown,
        volatility=spread * math.sqrt(per_year),
        win_rate=wins / len(trade_pnls) if trade_pnls else 0.0,
        trades=len(trade_pnls),
        exposure=bars_exposed / returns.size,
        turnover=traded_notional / float(curve.mean()) if curve.mean() > 0 else 0.0,
        fees_paid=fees_paid,
    )


MIN_ANNUALIZED_DAYS = 30
"""Below 30 days, a yearly figure extrapolates a few weeks' luck: CAGR, Sharpe, Sortino and
Calmar are left out of a report (`without_annualized`) rather than shown."""
ANNUALIZED = ("cagr", "sharpe", "sortino", "calmar")


def too_short_to_annualize(window_seconds: float) -> bool:
    return window_seconds < MIN_ANNUALIZED_DAYS * 86_400


def without_annualized(metrics: PerformanceMetrics) -> PerformanceMetrics:
    """The metrics with the annualized figures set to None (a window too short for them)."""
    return metrics.model_copy(update=dict.fromkeys(ANNUALIZED))


MIN_CAGR_YEARS = 1.0 / 365.0
"""Below a day of candles, compounding a return to a year says nothing (and overflows)."""


def _cagr(growth: float, years: float) -> float:
    if growth <= 0:
        return -1.0
    if years < MIN_CAGR_YEARS:
        return 0.0
    try:
        return float(growth ** (1.0 / years) - 1.0)
    except OverflowError:
        return 0.0


def _finite(**values: float | int) -> PerformanceMetrics:
    """Metrics with every non-finite value (a degenerate curve) reported as 0, since JSON has
    no NaN or infinity and a reader should never see them."""
    return PerformanceMetrics.model_validate(
        {k: (v if math.isfinite(v) else 0.0) for k, v in values.items()}
    )
