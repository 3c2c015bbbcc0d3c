"""Portfolio weights for several symbols, within the risk settings' caps.

`optimize_portfolio(closes, request, caps)` estimates annualized expected returns (the mean
simple return) and covariance (Ledoit-Wolf, see `tools.portfolio_estimates`) over the last
`lookback` common candles, runs one of five methods (`tools.portfolio_methods`), and reports
the weights with the portfolio's figures and each asset's share of its risk.

Long-only spot. The caps are the risk settings' own (`PortfolioCaps.from_limits`), never a
caller's: no weight exceeds `risk.max_position_fraction` and the weights sum to at most
`risk.max_gross_exposure`; what is not invested is cash, and the result says so. When the
caps cannot hold a fully invested portfolio (three assets capped at 20%), the portfolio
invests what they allow and says why the rest is cash.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Literal, Self, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.types import RiskLimits
from tools.portfolio_data import MIN_CANDLES, AlignedCloses
from tools.portfolio_estimates import FloatArray, ledoit_wolf, risk_contributions, simple_returns

Method = Literal["mean_variance", "min_variance", "max_sharpe", "risk_parity", "hrp"]
METHODS: tuple[str, ...] = get_args(Method)
AT_CAP = 1e-6
"""A weight this close to its cap counts as held there by it."""

_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PortfolioRequest(BaseModel):
    """What to optimize: the method and the estimation window, never the caps."""

    model_config = _FROZEN

    method: Method = Field(description="mean_variance, min_variance, max_sharpe, risk_parity, hrp")
    lookback: int | None = Field(
        default=None,
        ge=MIN_CANDLES,
        le=1_000_000,
        description="estimate from the last N common candles; None: every candle given",
    )
    risk_aversion: float = Field(
        default=1.0,
        gt=0,
        le=1000,
        description="mean_variance only: the penalty on annual variance against annual return",
    )
    candles_per_year: float = Field(
        default=8760.0,
        ge=1,
        le=31_536_000,
        description="annualizes returns and risk: 8760 for 1h candles (365 days)",
    )


class PortfolioCaps(BaseModel):
    """The risk settings' limits that bind a portfolio's weights."""

    model_config = _FROZEN

    max_weight: float = Field(gt=0, le=1, description="largest weight of one asset")
    max_gross: float = Field(gt=0, le=1, description="largest sum of the weights")
    max_positions: int = Field(default=1000, ge=1, le=1000, description="open positions allowed")
    allowed_symbols: tuple[str, ...] = Field(default=(), description="empty: every symbol")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.max_weight > self.max_gross:
            raise ValueError(
                f"max_weight ({self.max_weight}) cannot exceed max_gross ({self.max_gross})"
            )
        return self

    @classmethod
    def from_limits(cls, limits: RiskLimits) -> PortfolioCaps:
        return cls(
            max_weight=limits.max_position_fraction,
            max_gross=limits.max_gross_exposure,
            max_positions=limits.max_open_positions,
            allowed_symbols=limits.allowed_symbols,
        )


class PortfolioResult(BaseModel):
    """Weights (fractions of equity) and the portfolio's annualized figures in-sample.

    `risk_contributions` are each asset's share of the portfolio's variance (they sum to 1, or
    are all 0 for an all-cash portfolio). Sharpe assumes a zero risk-free rate, as
    `tools.metrics` does. `note` says why anything is in cash and which caps bind."""

    model_config = _FROZEN

    method: Method
    weights: dict[str, float]
    cash: float = Field(ge=0, le=1)
    expected_return: float
    volatility: float = Field(ge=0)
    sharpe: float
    risk_contributions: dict[str, float]
    caps: PortfolioCaps
    returns: Literal["simple"] = "simple"
    covariance: Literal["ledoit_wolf"] = "ledoit_wolf"
    shrinkage: float = Field(ge=0, le=1, description="Ledoit-Wolf intensity towards identity")
    candles: int = Field(description="candles the estimates read (one return fewer)")
    first: datetime
    last: datetime
    note: str


def optimize_portfolio(
    closes: AlignedCloses, request: PortfolioRequest, caps: PortfolioCaps
) -> PortfolioResult:
    """Weights of `closes.symbols` by `request.method` within `caps` (see the module doc)."""
    disallowed = [
        s for s in closes.symbols if caps.allowed_symbols and s not in caps.allowed_symbols
    ]
    if disallowed:
        raise ValueError(
            f"{', '.join(disallowed)} not in risk.allowed_symbols: the validator would refuse "
            "its orders, leave it out or allow it in the settings"
        )
    window = _window(closes, request.lookback)
    returns = simple_returns(window.closes)
    still = [
        s for s, spread in zip(closes.symbols, returns.std(axis=0), strict=True) if spread == 0
    ]
    if still:
        raise ValueError(
            f"{', '.join(still)} never moved over the window: its risk cannot be estimated, "
            "leave it out or widen the window"
        )
    shrunk = ledoit_wolf(returns)
    expected = returns.mean(axis=0) * request.candles_per_year
    covariance = shrunk.matrix * request.candles_per_year
    assets = len(closes.symbols)
    budget = min(caps.max_gross, assets * caps.max_weight)
    weights = _weights(request, expected, covariance, caps.max_weight, budget)
    if weights.sum() > caps.max_gross:  # by rounding only: the methods keep to the budget
        weights = weights * caps.max_gross / float(weights.sum())
    invested = float(weights.sum())
    portfolio_return = float(expected @ weights)
    volatility = math.sqrt(max(float(weights @ covariance @ weights), 0.0))
    contributions = risk_contributions(weights, covariance)
    return PortfolioResult(
        method=request.method,
        weights=dict(zip(closes.symbols, weights.tolist(), strict=True)),
        cash=max(0.0, 1.0 - invested),
        expected_return=portfolio_return,
        volatility=volatility,
        sharpe=portfolio_return / volatility if volatility > 0 else 0.0,
        risk_contributions=dict(zip(closes.symbols, contributions.tolist(), strict=True)),
        caps=caps,
        shrinkage=shrunk.shrinkage,
        candles=int(window.ts.size),
        first=_when(int(window.ts[0])),
        last=_when(int(window.ts[-1])),
        note=_note(request, closes.symbols, weights, caps, budget),
    )


def _window(closes: AlignedCloses, lookback: int | None) -> AlignedCloses:
    if lookback is None:
        return closes
    if closes.ts.size < lookback:
        raise ValueError(
            f"lookback {lookback} needs {lookback} common candles, the window has "
            f"{closes.ts.size}: widen the window or lower the lookback"
        )
    return AlignedCloses(
        symbols=closes.symbols,
        timeframe=closes.timeframe,
        ts=closes.ts[-lookback:],
        closes=closes.closes[-lookback:],
    )


def _weights(
    request: PortfolioRequest,
    expected: FloatArray,
    covariance: FloatArray,
    cap: float,
    budget: float,
) -> FloatArray:
    # SciPy's optimizers take a second to import; only computing weights needs them, not the
    # models every tool registry (and so every analyst) imports.
    from tools.portfolio_methods import hrp, max_sharpe, mean_variance, min_variance, risk_parity

    match request.method:
        case "min_variance":
            return min_variance(covariance, cap, budget)
        case "mean_variance":
            return mean_variance(expected, covariance, cap, budget, request.risk_aversion)
        case "max_sharpe":
            return max_sharpe(expected, covariance, cap, budget)
        case "risk_parity":
            return risk_parity(covariance, cap, budget)
        case "hrp":
            return hrp(covariance, cap, budget)


def _note(
    request: PortfolioRequest,
    symbols: tuple[str, ...],
    weights: FloatArray,
    caps: PortfolioCaps,
    budget: float,
) -> str:
    """Why part of the equity is cash, which caps bind, and what the validator would refuse."""
    lines = []
    if caps.max_gross < 1.0:
        lines.append(f"risk.max_gross_exposure caps the invested total at {caps.max_gross:.0%}")
    if budget < caps.max_gross - AT_CAP:
        lines.append(
            f"infeasible to invest {caps.max_gross:.0%}: {len(symbols)} assets capped at "
            f"{caps.max_weight:.0%} each (risk.max_position_fraction) hold at most {budget:.0%}"
        )
    invested = float(weights.sum())
    if request.method == "max_sharpe" and invested == 0.0:
        lines.append(
            "no allowed portfolio expects a positive return over the window: max_sharpe holds cash"
        )
    elif request.method == "mean_variance" and invested < budget - AT_CAP:
        lines.append(
            f"mean_variance invests {invested:.1%}: at risk aversion {request.risk_aversion:g} "
            "more risk does not pay for its expected return"
        )
    capped = [s for s, w in zip(symbols, weights, strict=True) if w >= caps.max_weight - AT_CAP]
    if capped and budget >= caps.max_gross - AT_CAP:
        lines.append(f"at the {caps.max_weight:.0%} cap: {', '.join(capped)}")
    held = int(np.count_nonzero(weights > AT_CAP))
    if held > caps.max_positions:
        lines.append(
            f"holds {held} assets but risk.max_open_positions is {caps.max_positions}: the "
            "validator refuses entries beyond it"
        )
    cash = max(0.0, 1.0 - invested)
    if cash > AT_CAP:
        lines.append(f"{cash:.1%} in cash")
    if request.method in ("mean_variance", "max_sharpe"):
        lines.append("expected returns are the window's mean returns: in-sample, not a forecast")
    return "; ".join(lines) + "." if lines else ""


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
