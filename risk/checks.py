"""The validator's checks: each looks at an order draft and returns every refusal that applies.

`validate` runs all of them and collects every refusal, so a denial explains itself in full.
Each check is written "refuse unless the condition holds" (`if not x <= limit`), so a NaN that
slipped through refuses instead of passing. A check that needs a number another check already
refused (an invalid quantity or price) returns nothing rather than a second, noisy refusal.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from core.types import OrderType, Refusal, RiskLimits, Side, TradingState
from core.types import RefusalCode as Code

LIMIT_PRICE_BAND: Final = 0.10
"""A limit price may differ from the reference price by at most this fraction of it."""


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """The order a proposal would become, with every number the checks look at."""

    symbol: str
    side: Side
    order_type: OrderType
    size_fraction: float
    quantity: float
    reference_price: float
    limit_price: float | None
    stop_loss: float | None
    take_profit: float | None
    confidence: float
    held: float
    cash: float
    equity: float
    market_symbol: str
    stale: bool
    state: TradingState
    breaker_reasons: tuple[str, ...]
    limits: RiskLimits

    @property
    def execution_price(self) -> float:
        """The price the order is counted at: its limit price, else the reference price."""
        if self.order_type is OrderType.LIMIT and self.limit_price is not None:
            return self.limit_price
        return self.reference_price

    @property
    def notional(self) -> float:
        return self.quantity * self.execution_price

    @property
    def quantity_ok(self) -> bool:
        return is_positive(self.quantity)

    @property
    def prices_ok(self) -> bool:
        return is_positive(self.reference_price) and is_positive(self.execution_price)


def is_positive(value: float) -> bool:
    """Finite and above zero: NaN and the infinities are not positive here."""
    return math.isfinite(value) and value > 0


def check_trading_state(draft: OrderDraft) -> list[Refusal]:
    """HALTED refuses everything new; REDUCING allows only a SELL within the held position."""
    reasons = "; ".join(draft.breaker_reasons) or "no reason given"
    if draft.state is TradingState.HALTED:
        return [Refusal(code=Code.HALTED, detail=f"state=HALTED reasons={reasons}")]
    if draft.state is TradingState.REDUCING:
        reduces = (
            draft.side is Side.SELL
            and draft.held > 0
            and draft.quantity_ok
            and draft.quantity <= draft.held
        )
        if not reduces:
            detail = (
                f"side={draft.side.value} quantity={draft.quantity:.8f} held={draft.held:.8f} "
                f"reasons={reasons}"
            )
            return [Refusal(code=Code.REDUCING_ONLY, detail=detail)]
    return []


def check_stale_data(draft: OrderDraft) -> list[Refusal]:
    if draft.stale and draft.order_type is OrderType.MARKET:
        return [Refusal(code=Code.STALE_DATA, detail="market order on stale data")]
    return []


def check_symbol(draft: OrderDraft) -> list[Refusal]:
    allowed = draft.limits.allowed_symbols
    if draft.symbol != draft.market_symbol:
        detail = f"symbol={draft.symbol!r} market={draft.market_symbol!r}"
        return [Refusal(code=Code.UNKNOWN_SYMBOL, detail=detail)]
    if allowed and draft.symbol not in allowed:
        detail = f"symbol={draft.symbol!r} allowed={list(allowed)}"
        return [Refusal(code=Code.UNKNOWN_SYMBOL, detail=detail)]
    return []


def check_quantity(draft: OrderDraft) -> list[Refusal]:
    fraction_ok = math.isfinite(draft.size_fraction) and draft.size_fraction >= 0
    if fraction_ok and draft.quantity_ok:
        return []
    detail = f"size_fraction={draft.size_fraction} quantity={draft.quantity:.8f}"
    return [Refusal(code=Code.INVALID_QUANTITY, detail=detail)]


def check_prices(draft: OrderDraft) -> list[Refusal]:
    """Reference, limit, stop and target prices: finite, positive, and on a sensible side."""
    refusals: list[Refusal] = []

    def refuse(detail: str) -> None:
        refusals.append(Refusal(code=Code.INVALID_PRICE, detail=detail))

    reference = draft.reference_price
    reference_ok = is_positive(reference)
    if not reference_ok:
        refuse(f"reference_price={reference}")
    if draft.order_type is OrderType.LIMIT:
        limit = draft.limit_price
        if limit is None or not is_positive(limit):
            refuse(f"limit_price={limit}")
        elif reference_ok:
            gap = abs(limit - reference) / reference
            if not gap <= LIMIT_PRICE_BAND:
                refuse(
                    f"limit_price={limit:.8f} is {gap:.2%} from reference={reference:.8f}; "
                    f"band={LIMIT_PRICE_BAND:.0%}"
                )
    for name, price in (("stop_loss", draft.stop_loss), ("take_profit", draft.take_profit)):
        if price is not None and not is_positive(price):
            refuse(f"{name}={price}")
    if draft.side is Side.BUY and reference_ok:
        stop, target = draft.stop_loss, draft.take_profit
        if stop is not None and is_positive(stop) and not stop < reference:
            refuse(f"stop_loss={stop:.8f} not below reference={reference:.8f} for a BUY")
        if target is not None and is_positive(target) and not target > reference:
            refuse(f"take_profit={target:.8f} not above reference={reference:.8f} for a BUY")
    return refusals


def check_confidence(draft: OrderDraft) -> list[Refusal]:
    confidence = draft.confidence
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        return [Refusal(code=Code.LOW_CONFIDENCE, detail=f"confidence={confidence} not in [0, 1]")]
    minimum = draft.limits.min_confidence
    if draft.side is Side.BUY and not confidence >= minimum:
        detail = f"confidence={confidence:.2f} minimum={minimum:.2f}"
        return [Refusal(code=Code.LOW_CONFIDENCE, detail=detail)]
    return []


def check_notional(draft: OrderDraft) -> list[Refusal]:
    """The fat-finger cap on opening orders. A SELL of at most what is held only reduces risk,
    and an exit must never be stuck behind a cap sized for entries."""
    if not (draft.quantity_ok and draft.prices_ok):
        return []  # already refused as INVALID_QUANTITY or INVALID_PRICE
    if draft.side is Side.SELL and draft.quantity <= draft.held:
        return []
    limit = draft.limits.max_order_notional
    if not draft.notional <= limit:
        detail = f"notional={draft.notional:.2f} limit={limit:.2f}"
        return [Refusal(code=Code.MAX_NOTIONAL_EXCEEDED, detail=detail)]
    return []


def check_position(draft: OrderDraft) -> list[Refusal]:
    """BUY: the position after the fill, at the reference price, within its share of equity."""
    if draft.side is not Side.BUY or not (draft.quantity_ok and draft.prices_ok):
        return []
    value = (draft.held + draft.quantity) * draft.reference_price
    cap = draft.limits.max_position_fraction * draft.equity
    if not value <= cap:
        detail = (
            f"position_value={value:.2f} limit={cap:.2f} "
            f"({draft.limits.max_position_fraction:.2%} of equity={draft.equity:.2f})"
        )
        return [Refusal(code=Code.MAX_POSITION_EXCEEDED, detail=detail)]
    return []


def check_balance(draft: OrderDraft) -> list[Refusal]:
    """BUY: the notional fits in cash, keeping `fee_reserve` of it for fees and slippage."""
    if draft.side is not Side.BUY or not (draft.quantity_ok and draft.prices_ok):
        return []
    spendable = draft.cash * (1.0 - draft.limits.fee_reserve)
    if not draft.notional <= spendable:
        detail = (
            f"notional={draft.notional:.2f} spendable={spendable:.2f} "
            f"(cash={draft.cash:.2f} fee_reserve={draft.limits.fee_reserve:.2%})"
        )
        return [Refusal(code=Code.INSUFFICIENT_BALANCE, detail=detail)]
    return []


def check_long_only(draft: OrderDraft) -> list[Refusal]:
    """SELL: spot is long-only and unlevered, so never more than is held."""
    if draft.side is not Side.SELL:
        return []
    if not draft.held > 0:
        return [Refusal(code=Code.SHORT_NOT_ALLOWED, detail=f"held={draft.held:.8f}")]
    if draft.quantity_ok and not draft.quantity <= draft.held:
        detail = f"quantity={draft.quantity:.8f} held={draft.held:.8f}"
        return [Refusal(code=Code.SHORT_NOT_ALLOWED, detail=detail)]
    return []


CHECKS: Final[tuple[Callable[[OrderDraft], list[Refusal]], ...]] = (
    check_trading_state,
    check_stale_data,
    check_symbol,
    check_quantity,
    check_prices,
    check_confidence,
    check_notional,
    check_position,
    check_balance,
    check_long_only,
)
