"""The order a proposal would become, with every number the checks look at."""

from __future__ import annotations

from typing import NamedTuple

from core.types import InstrumentRules, OrderType, RecentOrder, RiskLimits, Side, TradingState
from risk.inputs import Book
from risk.sizing import Sizing


class OrderDraft(NamedTuple):
    """Prices are already rounded to the exchange's tick; `quantity` is after the caps and the
    exchange rounding. Derived numbers are computed once (by `risk.validator._draft`), not by
    every check."""

    symbol: str
    market_symbol: str
    side: Side
    is_buy: bool
    order_type: OrderType
    size_fraction: float
    sizing: Sizing
    requested_ok: bool
    """The size asked for gives a finite quantity of at least 1e-8, before caps and rounding."""
    quantity: float
    reference_price: float
    limit_price: float | None
    execution_price: float
    """The price the order is counted at: its limit price (LIMIT), else the reference price."""
    stop_loss: float | None
    take_profit: float | None
    confidence: float
    book: Book
    held: float
    equity: float
    notional: float
    quantity_ok: bool
    """The final quantity is finite and positive."""
    prices_ok: bool
    """The reference and execution prices are finite and positive."""
    sized: bool
    """Both: the exposure checks have numbers to look at."""
    reduces: bool
    """A SELL of at most what is held: it can only reduce exposure."""
    stale: bool
    state: TradingState
    breaker_reasons: tuple[str, ...]
    rules: InstrumentRules | None
    recent_orders: tuple[RecentOrder, ...]
    recent_created: list[int]
    """`created_ms` of each recent order, in the same order."""
    now_ms: int
    limits: RiskLimits

    @property
    def position_value(self) -> float:
        """Value of the traded symbol's position after a BUY fills, at the reference price."""
        return (self.book.committed + self.quantity) * self.reference_price
