"""Tools over several symbols of one market: cointegration (is this pair worth trading?) and
portfolio_optimize (weights within the risk settings' caps).

Other symbols come from the caller's loader (`ToolContext.markets`), in the context market's
timeframe. Whatever the loader returns, nothing after the context's last candle is read: in
a replay the loader may hold the whole recording, and now is the context market's last
candle. The caps are the caller's (`ToolContext.caps`), never an input: a model cannot raise
the limits its portfolio is held to.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from core.market.series import CandleSeries
from core.types import RiskLimits, timeframe_seconds
from tools.market_toolset import MAX_CANDLES, iso_time, latest_candles
from tools.portfolio import (
    Method,
    PortfolioCaps,
    PortfolioRequest,
    PortfolioResult,
    optimize_portfolio,
)
from tools.portfolio_data import MIN_CANDLES, align_closes, candles_per_year, check_symbols
from tools.registry import Tool, ToolContext
from tools.strategies.pairs import (
    MIN_COINTEGRATION_CANDLES,
    CointegrationResult,
    PairsParams,
    cointegration,
    spread_zscore,
)
from tools.strategies.partner import align_partner

MAX_COINTEGRATION_CANDLES = 5_000
"""Engle-Granger's lag search grows faster than the sample: 5,000 candles take half a second
(with one BLAS thread; a busy machine's threaded BLAS takes many times that), 50,000 minutes."""
MAX_TOOL_SYMBOLS = 10

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,15}/[A-Z0-9]{1,15}$")]

_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
_WINDOW = PairsParams.model_fields["window"]


def _until(candles: CandleSeries, last_ts: int) -> CandleSeries:
    """The candles opened at or before `last_ts`: what was known at the context's now."""
    return candles.window(0, int(np.searchsorted(candles.ts, last_ts, side="right")))


def _other_symbol(
    context: ToolContext, tool: str, field: str, symbol: str, last_ts: int
) -> CandleSeries:
    candles = _until(context.open_symbol(tool, field, symbol), last_ts)
    if len(candles) == 0:
        raise ValueError(f"{field}: {symbol} has no candle at or before {iso_time(last_ts)}")
    return candles


class CointegrationQuery(BaseModel):
    """Engle-Granger cointegration of the market's symbol with a partner symbol."""

    model_config = _FROZEN

    partner: Symbol = Field(description="another symbol of the same market, like ETH/USDT")
    candles: int = Field(
        default=2000,
        ge=MIN_COINTEGRATION_CANDLES,
        le=MAX_COINTEGRATION_CANDLES,
        description="latest candles the test reads",
    )
    window: int = Field(
        default=_WINDOW.default,
        ge=20,
        le=5000,
        description="candles of the rolling fit the current spread z-score is measured against",
    )


class PairReport(BaseModel):
    """Engle-Granger over [start, end) (UTC, ISO 8601), and `spread_z`: the last candle's
    log-price residual from the pairs strategy's rolling fit over `window` candles, in
    residual deviations (None when that fit is degenerate). `partner_filled` counts candles
    where the partner had none of its own and its previous close stood in."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    partner: str
    start: str
    end: str
    cointegration: CointegrationResult
    window: int
    spread_z: float | None
    partner_filled: int


def _cointegration(query: CointegrationQuery, context: ToolContext) -> PairReport:
    market = context.need_market("cointegration")
    if query.partner == market.info.symbol:
        raise ValueError(f"partner: {query.partner} is the market itself, name another symbol")
    if query.window > query.candles:
        raise ValueError(
            f"window ({query.window}) is longer than candles ({query.candles}): "
            "give more candles or a shorter window"
        )
    own = latest_candles(market.candles, query.candles)
    last_ts = int(own.ts[-1])
    other = _other_symbol(context, "cointegration", "partner", query.partner, last_ts)
    aligned = align_partner(own, other)
    first = int(np.argmax(np.isfinite(aligned.close)))
    if not np.isfinite(aligned.close[first]):
        raise ValueError(f"partner: {query.partner} has no candle within the window")
    own, aligned = own.window(first, len(own)), aligned.window(first, len(aligned))
    found = cointegration(own, aligned)
    z = spread_zscore(own, aligned, query.window)[-1]
    return PairReport(
        symbol=market.info.symbol,
        partner=query.partner,
        start=iso_time(int(own.ts[0])),
        end=iso_time(last_ts + timeframe_seconds(market.info.timeframe) * 1000),
        cointegration=found,
        window=query.window,
        spread_z=None if np.isnan(z) else float(z),
        partner_filled=int(np.count_nonzero(~np.isin(own.ts, other.ts))),
    )


class PortfolioQuery(BaseModel):
    """Long-only weights for several symbols of the market, within the risk settings' caps."""

    model_config = _FROZEN

    symbols: list[Symbol] = Field(
        min_length=2,
        max_length=MAX_TOOL_SYMBOLS,
        description="the symbols of this market to weigh, like BTC/USDT, each once",
    )
    method: Method = Field(description="how the weights are chosen")
    lookback: int = Field(
        default=1000,
        ge=MIN_CANDLES,
        le=MAX_CANDLES,
        description="latest candles common to every symbol the estimates read",
    )
    risk_aversion: float = Field(
        default=1.0,
        gt=0,
        le=1000,
        description="mean_variance only: the penalty on annual variance against annual return",
    )

    @field_validator("symbols")
    @classmethod
    def _each_once(cls, symbols: list[str]) -> list[str]:
        check_symbols(symbols)
        return symbols


def _portfolio(query: PortfolioQuery, context: ToolContext) -> PortfolioResult:
    market = context.need_market("portfolio_optimize")
    last_ts = int(market.candles.ts[-1])
    loaded = {
        symbol: _other_symbol(context, "portfolio_optimize", "symbols", symbol, last_ts)
        for symbol in query.symbols
    }
    timeframe = market.info.timeframe
    request = PortfolioRequest(
        method=query.method,
        lookback=query.lookback,
        risk_aversion=query.risk_aversion,
        candles_per_year=candles_per_year(timeframe),
    )
    caps = context.caps or PortfolioCaps.from_limits(RiskLimits())
    return optimize_portfolio(align_closes(loaded, timeframe), request, caps)


COINTEGRATION = Tool(
    name="cointegration",
    description=(
        "Engle-Granger cointegration of the market's symbol with a partner symbol over the "
        "latest candles (t-statistic, p-value, hedge ratio) and the current spread z-score "
        "the pairs strategy would trade on."
    ),
    input_model=CointegrationQuery,
    output_model=PairReport,
    run=_cointegration,
    scope="market",
    keep_none=True,
)

PORTFOLIO_OPTIMIZE = Tool(
    name="portfolio_optimize",
    description=(
        "Long-only weights for 2 to 10 symbols of the market (min_variance, max_sharpe, "
        "mean_variance, risk_parity, hrp) from their latest common candles, within the risk "
        "settings' caps (not an input): expected return, volatility, risk shares, cash."
    ),
    input_model=PortfolioQuery,
    output_model=PortfolioResult,
    run=_portfolio,
    scope="market",
)

MULTI_MARKET_TOOLSET: tuple[Tool[Any, Any], ...] = (COINTEGRATION, PORTFOLIO_OPTIMIZE)
