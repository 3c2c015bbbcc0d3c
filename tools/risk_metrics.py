"""Historical value at risk and expected shortfall of an equity curve, at 95% and 99%.

Historical means the tail is read from the returns the curve actually had, with no
distribution assumed: crypto candles have fat tails, and a normal VaR would understate them.

Conventions, so a reader never has to guess:
- The returns are the curve's candle-to-candle returns, defined as `tools.metrics.performance`
  defines them; a strategy's flat candles are in the sample (their zero returns are part of
  what holding the strategy was like, and they thin its tail).
- Figures are losses as positive fractions of equity: `var_95 = 0.02` means one candle in
  twenty lost 2% or more. A negative figure means even the tail candles gained.
- The horizon is one candle. The `_1d` figures scale a candle's by sqrt(candles per day), the
  square-root-of-time rule: it assumes independent, identically distributed candle returns,
  which volatility clustering breaks, so they are a rough daily picture, not a daily
  measurement. They are capped at 1: a long-only spot position cannot lose more than everything.
- VaR at level L is minus the (1 - L) quantile, linearly interpolated between order
  statistics (numpy's default, Hyndman and Fan's type 7, which is what
  `empyrical.value_at_risk` computes): with the n returns sorted, r(0) <= ... <= r(n-1), and
  h = (n - 1)(1 - L), the quantile is r(⌊h⌋) + (h - ⌊h⌋)(r(⌊h⌋ + 1) - r(⌊h⌋)).
- ES at level L is minus the mean of the ⌊h⌋ + 1 worst returns, r(0) .. r(⌊h⌋) (the tail
  `empyrical.conditional_value_at_risk` averages). Each of them is at or below the quantile,
  so ES >= VaR at every level; the mean is clamped to the quantile only to undo summation
  rounding when the whole tail is one value.
- With fewer than 1 / (1 - L) returns the tail holds a single candle: the figure is then the
  worst candle seen, interpolated towards the next, and says little. `observations` tells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

FloatArray = npt.NDArray[np.float64]

DAY_SECONDS = 86_400


class TailRisk(BaseModel):
    """Historical VaR and expected shortfall of one equity curve (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    horizon_seconds: int = Field(gt=0, description="one candle: the horizon of var_* and es_*")
    observations: int = Field(ge=1, description="candle returns the tail is read from")
    var_95: float = Field(le=1.0, description="loss fraction one candle in 20 reaches")
    es_95: float = Field(le=1.0, description="mean loss of the worst 5% of candles")
    var_99: float = Field(le=1.0, description="loss fraction one candle in 100 reaches")
    es_99: float = Field(le=1.0, description="mean loss of the worst 1% of candles")
    day_scale: float = Field(gt=0, description="sqrt(candles per day), the _1d multiplier")
    var_95_1d: float = Field(le=1.0, description="var_95 x day_scale, capped at 1")
    es_95_1d: float = Field(le=1.0, description="es_95 x day_scale, capped at 1")
    var_99_1d: float = Field(le=1.0, description="var_99 x day_scale, capped at 1")
    es_99_1d: float = Field(le=1.0, description="es_99 x day_scale, capped at 1")


def candle_returns(equity: Sequence[float] | FloatArray) -> FloatArray:
    """Candle-to-candle returns of `equity` (0 after a candle that ended with nothing left)."""
    curve = np.asarray(equity, dtype=np.float64)
    if curve.ndim != 1 or curve.size < 2:
        raise ValueError("an equity curve needs its starting value and at least one close")
    if not np.all(np.isfinite(curve)) or np.any(curve < 0):
        raise ValueError("the equity curve has a negative or non-finite value: check its source")
    previous = curve[:-1]
    safe = np.where(previous > 0, previous, 1.0)
    return np.asarray(np.where(previous > 0, curve[1:] / safe - 1.0, 0.0))


def _tail_position(size: int, level: float) -> float:
    if not 0.5 <= level < 1.0:
        raise ValueError(f"a confidence level must be in [0.5, 1), got {level}")
    if size < 1:
        raise ValueError("value at risk needs at least one return")
    return (size - 1) * (1.0 - level)


def historical_var(returns: FloatArray, level: float) -> float:
    """Minus the interpolated (1 - level) quantile of `returns`: a loss, positive."""
    _tail_position(returns.size, level)
    return 0.0 - float(np.quantile(returns, 1.0 - level))  # 0.0 - 0.0 is 0.0, not -0.0


def expected_shortfall(returns: FloatArray, level: float) -> float:
    """Minus the mean of the ⌊(n - 1)(1 - level)⌋ + 1 worst returns: a loss, at least the VaR."""
    worst = math.floor(_tail_position(returns.size, level))
    tail = np.partition(returns, worst)[: worst + 1]
    return max(-float(tail.mean()), historical_var(returns, level))


def tail_risk(equity: Sequence[float] | FloatArray, *, period_seconds: int) -> TailRisk:
    """VaR and ES at 95% and 99% of `equity` (its start, then one value per candle close)."""
    if period_seconds <= 0:
        raise ValueError(f"the candle period must be positive seconds, got {period_seconds}")
    returns = candle_returns(equity)
    scale = math.sqrt(DAY_SECONDS / period_seconds)
    per_candle = {
        "var_95": historical_var(returns, 0.95),
        "es_95": expected_shortfall(returns, 0.95),
        "var_99": historical_var(returns, 0.99),
        "es_99": expected_shortfall(returns, 0.99),
    }
    one_day = {f"{name}_1d": min(1.0, value * scale) for name, value in per_candle.items()}
    return TailRisk(
        horizon_seconds=period_seconds,
        observations=int(returns.size),
        day_scale=scale,
        **per_candle,
        **one_day,
    )
