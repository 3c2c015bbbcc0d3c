"""What an analyst is told each cycle: built before it is asked, from checked data only."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.types.features import Features
from core.types.risk import TradingState


class RecalledSituation(BaseModel):
    """A past situation like this one, with the outcome that followed it."""

    model_config = ConfigDict(frozen=True)

    id: str
    ts: int
    similarity: float
    forward_return: float
    max_adverse: float
    persona_returns: dict[str, float] = Field(default_factory=dict)
    """What each offline persona's stance at the time would have earned over the horizon
    (stance x forward return); empty when the cycle's analyst had no personas."""


class Brief(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str
    now_ms: int
    price: float
    synthetic: bool
    timeframe: str = ""
    features: Features
    position_quantity: float
    position_avg_price: float
    position_stop: float | None
    cash: float
    equity: float
    trading_state: TradingState
    breaker_reasons: tuple[str, ...] = ()
    size_multiplier: float = 1.0
    max_buy_fraction: float
    min_confidence: float
    recalled: tuple[RecalledSituation, ...] = ()
