"""Risk vocabulary: limits, trading states, refusal codes and the validator's verdicts."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.types.trading import Order


class TradingState(StrEnum):
    """ACTIVE trades freely, REDUCING only closes exposure, HALTED sends nothing new."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class RefusalCode(Enum):
    """Why the validator refused a proposal: a stable code and a message template."""

    HALTED = "trading is halted"
    REDUCING_ONLY = "only exposure-reducing orders are allowed"
    STALE_DATA = "market data is stale"
    UNKNOWN_SYMBOL = "symbol is not tradable here"
    INVALID_QUANTITY = "quantity is not a finite positive number"
    INVALID_PRICE = "price is not a finite positive number"
    MAX_NOTIONAL_EXCEEDED = "order notional above the limit"
    MAX_POSITION_EXCEEDED = "position would exceed its share of equity"
    INSUFFICIENT_BALANCE = "not enough free cash"
    SHORT_NOT_ALLOWED = "spot is long-only: cannot sell more than is held"
    LOW_CONFIDENCE = "confidence below the minimum for opening orders"
    INTERNAL_ERROR = "the validator failed; denied to be safe"

    @property
    def code(self) -> str:
        return self.name


class Refusal(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: RefusalCode
    detail: str = ""

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.code.name}{detail} ({self.code.value})"


class RiskLimits(BaseModel):
    """Hard limits, from configuration only: nothing an analyst writes can change them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_order_notional: float = Field(default=25_000.0, gt=0)
    max_position_fraction: float = Field(default=0.5, gt=0, le=1)
    drawdown_halt: float = Field(default=0.15, gt=0, lt=1)
    max_data_age_periods: float = Field(default=2.0, gt=0)
    min_confidence: float = Field(default=0.6, ge=0, le=1)
    fee_reserve: float = Field(default=0.005, ge=0, lt=0.5)
    allowed_symbols: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _symbols_are_ccxt(self) -> Self:
        bad = [s for s in self.allowed_symbols if "/" not in s]
        if bad:
            raise ValueError(f"allowed_symbols must be ccxt symbols like BTC/USDT, got {bad}")
        return self


class Approved(BaseModel):
    """An order the validator approved; `signature` proves it was minted by the validator."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["approved"] = "approved"
    order: Order
    signature: str


class Denied(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["denied"] = "denied"
    refusals: tuple[Refusal, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code.name for r in self.refusals)


class Hold(BaseModel):
    """The analyst proposed nothing; no order, nothing to validate."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["hold"] = "hold"


Verdict = Approved | Denied | Hold


class BreakerSnapshot(BaseModel):
    """Trading state after the circuit breakers ran, with what tripped them."""

    model_config = ConfigDict(frozen=True)

    state: TradingState = TradingState.ACTIVE
    reasons: tuple[str, ...] = ()
    high_water_mark: float = 0.0
    drawdown: float = 0.0
