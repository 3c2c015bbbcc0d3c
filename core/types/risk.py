"""Risk vocabulary: limits, trading states, refusal codes and the validator's verdicts."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.types.breakers import BreakerDemand
from core.types.trading import Order, Side


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
    MAX_EXPOSURE_EXCEEDED = "gross exposure would exceed its share of equity"
    MAX_OPEN_POSITIONS = "too many open positions"
    PRICE_OUTSIDE_COLLAR = "limit or stop price too far from the reference price"
    BELOW_MIN_AMOUNT = "quantity below the exchange minimum"
    ABOVE_MAX_AMOUNT = "quantity above the exchange maximum"
    BELOW_MIN_NOTIONAL = "notional below the exchange minimum"
    RATE_LIMITED = "too many orders in the window"
    DUPLICATE_ORDER = "same order sent moments ago"
    STOP_LOSS_REQUIRED = "opening orders need a stop-loss"
    RISK_PER_TRADE_EXCEEDED = "loss at the stop would exceed the risk per trade"
    CORRELATION_CAP = "combined exposure to correlated assets above the cap"
    VOLATILITY_CAP = "position would exceed the volatility target"
    KELLY_CAP = "no Kelly edge at this confidence and payoff"
    DRAWDOWN_SIZE_CAP = "staged drawdown leaves no size for this order"
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
    """Pre-trade limits, from configuration only: nothing an analyst writes can change them.

    Fractions are of equity unless said otherwise. Defaults are documented in README.md.
    Every number must be finite: an infinite limit is a configuration mistake, not "no limit".
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    max_order_notional: float = Field(default=25_000.0, gt=0, le=1e12)
    max_position_fraction: float = Field(default=0.5, gt=0, le=1)
    max_gross_exposure: float = Field(default=1.0, gt=0, le=1)
    max_open_positions: int = Field(default=5, ge=1, le=1000)
    min_confidence: float = Field(default=0.6, ge=0, le=1)
    fee_reserve: float = Field(default=0.005, ge=0, lt=0.5)
    price_collar: float = Field(default=0.10, gt=0, lt=1)
    max_orders_per_minute: int = Field(default=10, ge=1, le=10_000)
    max_orders_per_day: int = Field(default=500, ge=1, le=10_000_000)
    duplicate_window_seconds: float = Field(default=60.0, ge=0, le=86_400)
    require_stop_loss: bool = True
    risk_per_trade: float = Field(default=0.01, gt=0, le=1)
    volatility_target: float | None = Field(default=None, gt=0, le=100)
    kelly_fraction: float | None = Field(default=None, gt=0, le=1)
    correlation_threshold: float = Field(default=0.8, gt=0, le=1)
    max_correlated_exposure: float = Field(default=0.5, gt=0, le=1)
    allowed_symbols: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        bad = [s for s in self.allowed_symbols if "/" not in s]
        if bad:
            raise ValueError(f"allowed_symbols must be ccxt symbols like BTC/USDT, got {bad}")
        if self.max_position_fraction > self.max_gross_exposure:
            raise ValueError(
                "max_position_fraction cannot exceed max_gross_exposure "
                f"({self.max_position_fraction} > {self.max_gross_exposure})"
            )
        if self.max_orders_per_minute > self.max_orders_per_day:
            raise ValueError("max_orders_per_minute cannot exceed max_orders_per_day")
        return self


class BreakerLimits(BaseModel):
    """Circuit-breaker thresholds, from configuration only. Drawdown is measured from the
    equity high-water mark; the daily loss from the equity at the first cycle of the UTC day."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    drawdown_reduce_size: float = Field(default=0.05, gt=0, lt=1)
    reduced_size_multiplier: float = Field(default=0.5, gt=0, le=1)
    drawdown_reducing: float = Field(default=0.10, gt=0, lt=1)
    drawdown_halt: float = Field(default=0.15, gt=0, lt=1)
    flatten_on_halt: bool = True
    daily_loss_limit: float = Field(default=0.03, gt=0, lt=1)
    max_consecutive_losses: int = Field(default=4, ge=1, le=1000)
    loss_cooldown_candles: int = Field(default=24, ge=1, le=100_000)
    stale_after_periods: float = Field(default=2.0, gt=0, le=1000)
    jump_sigma: float = Field(default=8.0, gt=0, le=1000)
    max_errors: int = Field(default=5, ge=1, le=10_000)
    error_window_minutes: float = Field(default=60.0, gt=0, le=10_080)
    error_consecutive: int = Field(default=3, ge=1, le=1000)
    """Failures of one source in a row (an analyst that fails every cycle) that halt, however
    slowly they come: on 1h candles the window above never sees max_errors of them."""
    on_trace_failure: Literal["halt_entries", "continue"] = "halt_entries"
    """While traces cannot be persisted (they are spooled locally meanwhile): no new entries
    until the store is back (the default), or trade on."""

    @model_validator(mode="after")
    def _stages_in_order(self) -> Self:
        stages = (self.drawdown_reduce_size, self.drawdown_reducing, self.drawdown_halt)
        if not stages[0] < stages[1] < stages[2]:
            raise ValueError(
                "drawdown stages must rise: drawdown_reduce_size < drawdown_reducing < "
                f"drawdown_halt, got {stages[0]} / {stages[1]} / {stages[2]}"
            )
        return self


class InstrumentRules(BaseModel):
    """Exchange rules for one symbol, as ccxt's market info gives them (None: no rule known)."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    amount_step: float | None = Field(default=None, gt=0)
    price_tick: float | None = Field(default=None, gt=0)
    min_amount: float | None = Field(default=None, ge=0)
    max_amount: float | None = Field(default=None, gt=0)
    min_notional: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _amounts_in_order(self) -> Self:
        low, high = self.min_amount, self.max_amount
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_amount {low} cannot exceed max_amount {high}")
        return self


class RecentOrder(BaseModel):
    """An order already sent, as the throttle and the duplicate guard need it."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    symbol: str
    side: Side
    quantity: float = Field(ge=0)
    created_ms: int


class RiskContext(BaseModel):
    """What the validator needs beyond the proposal, portfolio and market, prepared by the
    caller each cycle: open orders, recent orders, marks of every held symbol, the symbol's
    volatility and its correlations with what is held. Empty by default (a first order).

    `marks` are prices of held symbols (a missing one counts at the position's average price);
    `volatility` is the traded symbol's, in the same units as `RiskLimits.volatility_target`;
    `correlations` maps a held symbol to its correlation with the traded symbol.
    """

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    open_orders: tuple[Order, ...] = ()
    recent_orders: tuple[RecentOrder, ...] = ()
    marks: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    volatility: float | None = Field(default=None, ge=0)
    correlations: dict[str, Annotated[float, Field(ge=-1, le=1)]] = Field(default_factory=dict)
    rules: InstrumentRules | None = None


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


class VerdictKind(StrEnum):
    """Which verdict a cycle got, as its trace records it (the `kind` of each verdict)."""

    APPROVED = "approved"
    DENIED = "denied"
    HOLD = "hold"


class BreakerSnapshot(BaseModel):
    """Trading state after the circuit breakers ran, with what tripped them.

    `demands` names each breaker holding trading back, with its stage and reason; `reasons` are
    the same reasons as text, in the same order (for the analyst's brief and the validator's
    refusals). `size_multiplier` scales opening sizes down (staged drawdown); `flatten` asks the
    cycle to close every position through the validator's reduce-only path.
    """

    model_config = ConfigDict(frozen=True)

    state: TradingState = TradingState.ACTIVE
    reasons: tuple[str, ...] = ()
    demands: tuple[BreakerDemand, ...] = ()
    high_water_mark: float = 0.0
    drawdown: float = 0.0
    size_multiplier: float = 1.0
    flatten: bool = False
