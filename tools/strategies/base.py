"""What a strategy is: a causal signal function with typed, bounded parameters.

A strategy turns candles into the position it wants after each close (True = long, spot, long
only; False = flat). `want[t]` may read candles 0..t and nothing later, so cutting the series
after t never changes `want[:t + 1]` (tests/tools/test_strategies.py checks this for every
strategy). The vectorized backtest and the graph's strategy analyst both trade `want[t]` at the
open of candle t+1 with the engine's one fill model, which is what makes them comparable.

A pairs strategy also reads a partner market (`needs_partner`), aligned candle for candle with
the traded one by the caller, and trades only the first symbol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from core.market.series import CandleSeries

BoolArray = npt.NDArray[np.bool_]


class StrategyParams(BaseModel):
    """Parameters of one strategy: frozen, no unknown keys, no NaN, every field bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


P = TypeVar("P", bound=StrategyParams)

Signal = Callable[[CandleSeries, P, CandleSeries | None], BoolArray]
"""(candles, params, partner or None) -> desired long position after each close."""


@dataclass(frozen=True)
class Strategy(Generic[P]):
    """One registered strategy. `description` is one line a person or a model can act on;
    `warmup(params)` is how many candles pass before the signal can first be True."""

    name: str
    description: str
    params: type[P]
    signal: Signal[P]
    warmup: Callable[[P], int]
    needs_partner: bool = False

    def want(
        self, candles: CandleSeries, params: P, partner: CandleSeries | None = None
    ) -> BoolArray:
        """The desired position after every close of `candles`."""
        if self.needs_partner and (partner is None or len(partner) != len(candles)):
            raise ValueError(f"{self.name} needs a partner market aligned with the traded one")
        want = np.asarray(self.signal(candles, params, partner), dtype=np.bool_)
        if want.shape != (len(candles),):
            raise AssertionError(f"{self.name} returned {want.shape}, not ({len(candles)},)")
        return want


def latch(enter: npt.NDArray[np.bool_], leave: npt.NDArray[np.bool_]) -> BoolArray:
    """Long from an entry event until the next exit event (an exit wins when both fire on one
    candle). Causal: the state at t depends on events at or before t only."""
    event = np.where(leave, -1, np.where(enter, 1, 0))
    index = np.where(event != 0, np.arange(event.size), -1)
    last = np.maximum.accumulate(index) if index.size else index
    state = np.where(last >= 0, event[np.maximum(last, 0)], -1)
    return np.asarray(state == 1)


def defined(values: npt.NDArray[np.float64]) -> BoolArray:
    """True where an indicator has a value (TA-Lib's warm-up is NaN)."""
    return np.asarray(~np.isnan(values))


def previous(values: npt.NDArray[np.float64], by: int = 1) -> npt.NDArray[np.float64]:
    """`values` shifted `by` candles later (NaN before): the value as of the previous close."""
    out = np.full_like(values, np.nan, dtype=np.float64)
    if by < values.size:
        out[by:] = values[: values.size - by]
    return out
