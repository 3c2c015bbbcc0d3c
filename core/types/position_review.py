"""A closed position as the reflection step reviews it: how it was opened, held and closed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from core.types.features import Features


class ClosedPosition(BaseModel):
    """One round trip, from the first buy of a flat symbol to flat again."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    timeframe: str
    opened_ms: int
    closed_ms: int
    candles_held: int
    entry_price: float
    """Average price of the buys, weighted by quantity, fees apart."""
    exit_price: float
    """Average price of the sells, weighted by quantity, fees apart."""
    pnl: float
    """Realized, in the quote currency, fees included."""
    pnl_fraction: float
    """`pnl` as a fraction of what the entry cost."""
    entry_features: Features
    entry_thesis: str
    exit_reason: str
    """The SELL's thesis, or the resting stop-loss that filled."""
    max_adverse: float
    """Worst low while held, against the entry price (at most 0)."""
    entry_trace_id: str
    entry_situation_id: str
    order_ids: tuple[str, ...]
    """Client order ids of every fill of the trade, in order."""
    entry_persona: str = ""
    """The offline persona whose rule opened the position ("" for other analysts), so its lesson
    can count as evidence about that persona."""

    @property
    def pnl_atr(self) -> float:
        """`pnl_fraction` in ATRs of the entry (the risk unit the offline selector scores in);
        0 when the entry's ATR is unknown."""
        f = self.entry_features
        atr_fraction = f.atr_14 / f.close if f.close > 0 else 0.0
        return self.pnl_fraction / atr_fraction if atr_fraction > 0 else 0.0
