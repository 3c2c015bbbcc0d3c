"""The validator's checks on the order itself: trading state, data, symbol, quantity and
exchange rules, prices and the collar, stop-loss, confidence. The checks on the book (notional,
position, exposure, cash) are in `risk.book_checks`, the order-flow ones (throttle, duplicate)
in `risk.flow_checks`; `CHECKS` lists them all, in the order their refusals are reported.

Each check looks at an order draft and returns every refusal that applies; `validate` runs all
of them, so a denial explains itself in full. Each is written "refuse unless the condition
holds" (`if not x <= limit`), so a NaN that slipped through refuses instead of passing. A check
that needs a number another check already refused (an invalid quantity or price) returns
nothing rather than a second, noisy refusal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

from core.types import OrderType, Refusal, TradingState
from core.types import RefusalCode as Code
from risk import book_checks, flow_checks
from risk.draft import OrderDraft
from risk.inputs import is_positive
from risk.sizing import CAP_CODES, Cap

Check = Callable[[OrderDraft], Sequence[Refusal]]


def check_trading_state(draft: OrderDraft) -> Sequence[Refusal]:
    """HALTED refuses everything (only `flatten` may sell then); REDUCING allows only a SELL
    within the held position."""
    reasons = "; ".join(draft.breaker_reasons) or "no reason given"
    if draft.state is TradingState.HALTED:
        return [Refusal(code=Code.HALTED, detail=f"state=HALTED reasons={reasons}")]
    if draft.state is TradingState.REDUCING and not (draft.quantity_ok and draft.reduces):
        detail = (
            f"side={draft.side.value} quantity={draft.quantity:.8f} held={draft.held:.8f} "
            f"reasons={reasons}"
        )
        return [Refusal(code=Code.REDUCING_ONLY, detail=detail)]
    return ()


def check_stale_data(draft: OrderDraft) -> Sequence[Refusal]:
    """A market order on stale data would fill at a price nobody has seen; a limit order
    bounds its own price."""
    if draft.stale and draft.order_type is OrderType.MARKET:
        return [Refusal(code=Code.STALE_DATA, detail="market order on stale data")]
    return ()


def check_symbol(draft: OrderDraft) -> Sequence[Refusal]:
    """The market's own symbol (the only one with a price here), and on the allow-list."""
    allowed = draft.limits.allowed_symbols
    if draft.symbol != draft.market_symbol:
        detail = f"symbol={draft.symbol!r} market={draft.market_symbol!r}"
        return [Refusal(code=Code.UNKNOWN_SYMBOL, detail=detail)]
    if allowed and draft.symbol not in allowed:
        detail = f"symbol={draft.symbol!r} allowed={list(allowed)}"
        return [Refusal(code=Code.UNKNOWN_SYMBOL, detail=detail)]
    return ()


def check_quantity(draft: OrderDraft) -> Sequence[Refusal]:
    """The size asked for gives a finite positive quantity (before caps and exchange rounding).
    A BUY of more than all equity (size_fraction > 1) would need leverage: refused, not
    resized, since it is a fat finger or junk rather than an intention to size down from."""
    fraction, top = draft.size_fraction, 1.0 if draft.is_buy else math.inf
    if 0.0 <= fraction <= top and draft.requested_ok:
        return ()
    detail = f"size_fraction={fraction} quantity={draft.sizing.requested:.8f}"
    if draft.is_buy and fraction > 1.0:
        detail += " (a BUY above 1 would need leverage; spot is unlevered)"
    return [Refusal(code=Code.INVALID_QUANTITY, detail=detail)]


def _too_small(draft: OrderDraft) -> str | None:
    """Why the final quantity cannot be sent (zero, under the exchange minimums), or None."""
    rules = draft.rules
    if not draft.quantity > 0:
        step = f" at amount_step={rules.amount_step}" if rules and rules.amount_step else ""
        return f"quantity rounds to 0{step}"
    if rules is None:
        return None
    if rules.min_amount is not None and not draft.quantity >= rules.min_amount:
        return f"quantity={draft.quantity:.8f} min_amount={rules.min_amount:.8f}"
    if (
        rules.min_notional is not None
        and draft.prices_ok
        and not draft.notional >= rules.min_notional
    ):
        return f"notional={draft.notional:.2f} min_notional={rules.min_notional:.2f}"
    return None


def check_size_caps(draft: OrderDraft) -> Sequence[Refusal]:
    """A BUY that a cap shrank to nothing sendable: refused with that cap's code."""
    binding = draft.sizing.binding
    if binding is None or not draft.requested_ok:
        return ()
    shortfall = _too_small(draft)
    if shortfall is None:
        return ()
    detail = (
        f"requested={draft.sizing.requested:.8f} capped={draft.quantity:.8f} "
        f"by {binding.value}: {_cap_detail(draft, binding)}; {shortfall}"
    )
    return [Refusal(code=CAP_CODES[binding], detail=detail)]


def _cap_detail(draft: OrderDraft, cap: Cap) -> str:
    limits, equity = draft.limits, draft.equity
    match cap:
        case Cap.RISK_PER_TRADE:
            return f"risk_per_trade={limits.risk_per_trade:.2%} of equity={equity:.2f}"
        case Cap.VOLATILITY:
            return f"volatility_target={limits.volatility_target} of equity={equity:.2f}"
        case Cap.KELLY:
            return f"kelly_fraction={limits.kelly_fraction} confidence={draft.confidence:.2f}"
        case Cap.DRAWDOWN:
            return f"breaker size multiplier; reasons={'; '.join(draft.breaker_reasons)}"
        case Cap.CORRELATION:
            return (
                f"correlated={list(draft.book.correlated)} "
                f"limit={limits.max_correlated_exposure:.2%} of equity={equity:.2f}"
            )
    raise AssertionError(cap)  # pragma: no cover


def check_exchange_amounts(draft: OrderDraft) -> Sequence[Refusal]:
    """The exchange's minimum and maximum amount and minimum notional, on the final quantity.
    A BUY that a cap shrank below a minimum is refused by `check_size_caps` instead."""
    rules = draft.rules
    if rules is None or not draft.requested_ok:
        return []  # no rules known, or INVALID_QUANTITY already
    refusals: list[Refusal] = []
    quantity, capped = draft.quantity, draft.sizing.binding is not None
    below_min = rules.min_amount is not None and not quantity >= rules.min_amount
    if not capped and (not quantity > 0 or below_min):
        detail = f"quantity={quantity:.8f} min_amount={rules.min_amount or 0.0:.8f}"
        if not quantity > 0:
            detail += f" (rounds to 0 at amount_step={rules.amount_step})"
        refusals.append(Refusal(code=Code.BELOW_MIN_AMOUNT, detail=detail))
    if rules.max_amount is not None and draft.quantity_ok and not quantity <= rules.max_amount:
        detail = f"quantity={quantity:.8f} max_amount={rules.max_amount:.8f}"
        refusals.append(Refusal(code=Code.ABOVE_MAX_AMOUNT, detail=detail))
    minimum = rules.min_notional
    if not capped and minimum is not None and draft.sized and not draft.notional >= minimum:
        detail = f"notional={draft.notional:.2f} min_notional={minimum:.2f}"
        refusals.append(Refusal(code=Code.BELOW_MIN_NOTIONAL, detail=detail))
    return refusals


def check_prices(draft: OrderDraft) -> Sequence[Refusal]:
    """Reference, limit, stop and target prices: finite, positive, and on a sensible side.
    For a BUY the stop must be below, and the target above, both the reference and the limit
    price (the order may fill at either)."""
    problems: list[str] = []
    reference, stop, target = draft.reference_price, draft.stop_loss, draft.take_profit
    if not is_positive(reference):
        problems.append(f"reference_price={reference}")
    if draft.order_type is OrderType.LIMIT:
        limit = draft.limit_price
        if limit is None or not is_positive(limit):
            problems.append(f"limit_price={limit}")
    if stop is not None and not is_positive(stop):
        problems.append(f"stop_loss={stop}")
    if target is not None and not is_positive(target):
        problems.append(f"take_profit={target}")
    if draft.is_buy and draft.prices_ok:
        low = min(reference, draft.execution_price)
        high = max(reference, draft.execution_price)
        if stop is not None and is_positive(stop) and not stop < low:
            problems.append(f"stop_loss={stop:.8f} not below entry={low:.8f} for a BUY")
        if target is not None and is_positive(target) and not target > high:
            problems.append(f"take_profit={target:.8f} not above entry={high:.8f} for a BUY")
    return [Refusal(code=Code.INVALID_PRICE, detail=detail) for detail in problems]


def check_price_collar(draft: OrderDraft) -> Sequence[Refusal]:
    """Limit and stop prices within `price_collar` of the reference price, either side."""
    reference, collar = draft.reference_price, draft.limits.price_collar
    if not is_positive(reference):
        return ()
    limit = draft.limit_price if draft.order_type is OrderType.LIMIT else None
    refusals: list[Refusal] = []
    for name, price in (("limit_price", limit), ("stop_loss", draft.stop_loss)):
        if price is None or not is_positive(price):
            continue
        if not abs(price - reference) <= collar * reference:
            gap = abs(price - reference) / reference
            detail = (
                f"{name}={price:.8f} is {gap:.2%} from reference={reference:.8f} "
                f"collar={collar:.2%}"
            )
            refusals.append(Refusal(code=Code.PRICE_OUTSIDE_COLLAR, detail=detail))
    return refusals


def check_stop_loss_required(draft: OrderDraft) -> Sequence[Refusal]:
    if draft.is_buy and draft.limits.require_stop_loss and draft.stop_loss is None:
        return [Refusal(code=Code.STOP_LOSS_REQUIRED, detail="BUY without a stop_loss")]
    return ()


def check_confidence(draft: OrderDraft) -> Sequence[Refusal]:
    """Within [0, 1] on any side; at least `min_confidence` to open (BUY)."""
    confidence = draft.confidence
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        return [Refusal(code=Code.LOW_CONFIDENCE, detail=f"confidence={confidence} not in [0, 1]")]
    minimum = draft.limits.min_confidence
    if draft.is_buy and not confidence >= minimum:
        detail = f"confidence={confidence:.2f} minimum={minimum:.2f}"
        return [Refusal(code=Code.LOW_CONFIDENCE, detail=detail)]
    return ()


CHECKS: Final[tuple[Check, ...]] = (
    check_trading_state,
    check_stale_data,
    check_symbol,
    check_quantity,
    check_size_caps,
    check_exchange_amounts,
    check_prices,
    check_price_collar,
    check_stop_loss_required,
    check_confidence,
    *book_checks.CHECKS,
    *flow_checks.CHECKS,
)
"""Every check `validate` runs, in the order their refusals are reported."""
