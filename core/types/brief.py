"""What an analyst is told each cycle: built before it is asked, from checked data only."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.types.features import Features
from core.types.risk import TradingState


class HorizonOutcome(BaseModel):
    """What followed a situation over `candles` candles: the close-to-close return and the
    maximum adverse excursion (the worst low against the situation's close, at most 0)."""

    model_config = ConfigDict(frozen=True)

    candles: int
    forward_return: float
    max_adverse: float


class RecalledSituation(BaseModel):
    """A past situation like this one, with the outcome that followed it.

    `forward_return` and `max_adverse` are over the longest horizon (24 candles by default);
    `horizons` holds every horizon's outcome (1, 6 and 24 candles). `known_at` is when the
    last horizon passed, the moment the situation became recallable."""

    model_config = ConfigDict(frozen=True)

    id: str
    ts: int
    similarity: float
    forward_return: float
    max_adverse: float
    symbol: str = ""
    known_at: int = 0
    horizons: tuple[HorizonOutcome, ...] = ()
    persona_returns: dict[str, float] = Field(default_factory=dict)
    """What each offline persona's stance at the time would have earned over the horizon
    (stance x forward return); empty when the cycle's analyst had no personas."""


class RecalledLesson(BaseModel):
    """A lesson written when a position closed, recalled for a situation like its entry."""

    model_config = ConfigDict(frozen=True)

    id: str
    written_at: int
    symbol: str
    similarity: float
    text: str
    pnl_fraction: float
    """The closed trade's profit or loss as a fraction of the entry notional."""
    persona: str = ""
    """The offline persona that opened the trade ("" when another analyst did)."""
    pnl_atr: float = 0.0
    """`pnl_fraction` in ATRs of the entry: what the offline selector weighs lessons in."""


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
    lessons: tuple[RecalledLesson, ...] = ()
