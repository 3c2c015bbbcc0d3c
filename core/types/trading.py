"""Trading vocabulary: proposals from an analyst, orders, fills, positions and the portfolio."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Action(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class Proposal(BaseModel):
    """What an analyst wants to do. It is only a wish: the risk validator decides.

    `size_fraction` is a fraction of equity to buy with (BUY) or of the position to sell (SELL).
    Field constraints catch junk early, but the validator re-checks everything, because a
    proposal can also be built without validation (`model_construct`). Unknown fields are
    refused, so a proposal can say nothing but a proposal.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    symbol: str
    size_fraction: float = Field(default=0.0, ge=0.0)
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    thesis: str = Field(default="", max_length=4000)

    @classmethod
    def hold(cls, symbol: str, thesis: str) -> Proposal:
        return cls(action=Action.HOLD, symbol=symbol, thesis=thesis)


class Order(BaseModel):
    """An order as approved by the risk validator; only the validator builds these."""

    model_config = ConfigDict(frozen=True)

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: float
    reference_price: float
    limit_price: float | None = None
    stop_price: float | None = None
    created_ms: int

    @property
    def notional(self) -> float:
        return self.quantity * (self.limit_price or self.reference_price)


class Fill(BaseModel):
    """An execution of (part of) an order; fees are in the quote currency."""

    model_config = ConfigDict(frozen=True)

    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    fee: float
    ts: int

    @property
    def notional(self) -> float:
        return self.quantity * self.price


class Position(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str
    quantity: float
    avg_price: float
    stop_loss: float | None = None


class Portfolio(BaseModel):
    """Cash in the quote currency and spot positions; equity needs marks (prices) to compute."""

    model_config = ConfigDict(frozen=True)

    quote_currency: str = "USDT"
    cash: float
    positions: dict[str, Position] = Field(default_factory=dict)

    def quantity(self, symbol: str) -> float:
        position = self.positions.get(symbol)
        return position.quantity if position else 0.0

    def exposure(self, marks: dict[str, float]) -> float:
        """Gross market value of all positions at the given marks."""
        return sum(abs(p.quantity) * marks.get(s, p.avg_price) for s, p in self.positions.items())

    def equity(self, marks: dict[str, float]) -> float:
        return self.cash + sum(
            p.quantity * marks.get(s, p.avg_price) for s, p in self.positions.items()
        )
