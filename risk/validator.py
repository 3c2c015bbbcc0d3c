"""The risk validator: the only way an analyst's proposal becomes an order.

`validate` is pure and deterministic: the same inputs always give the same verdict (only an
approval's signature differs between processes). It fails closed: a corrupt input or any
exception inside it becomes a Denied(INTERNAL_ERROR), never an exception and never an approval.
`flatten` is the one other way to an order: the reduce-only exit the circuit breakers use.

How to read it: `_draft` turns the proposal into the order it would be (an OrderDraft): prices
rounded to the exchange tick, the BUY quantity resized down by the caps of `risk.sizing`, the
book (`risk.inputs.Book`) marked to market. Each check in `risk.checks.CHECKS` returns the
refusals that apply (all are collected, not just the first); `_assert_within_limits` re-checks
the hard limits on the final order before `mint`, so a bug in a check cannot become an approval.

Policy choices a reviewer should know (details in each module's docstring):
- Numbers from the proposal and the reference price get their own refusal codes when they are
  not finite; a non-finite or wrongly typed number elsewhere (portfolio, limits, breakers,
  context) is corruption and gives INTERNAL_ERROR (`risk.inputs`). Junk that plays no part
  (a mark of a symbol not held) is ignored.
- Caps resize a BUY down, never up, in the order documented in `risk.sizing` (risk per trade,
  volatility target, Kelly; x the drawdown multiplier; correlation cap; exchange rounding). A
  cap that leaves nothing sendable denies with its own code. The limits in `risk.book_checks`
  (notional, position share, gross exposure, open positions, free cash) deny instead, as does
  a BUY size_fraction above 1 (INVALID_QUANTITY: leverage). The approved order carries the
  resized quantity; nothing else records the cut.
- Equity and exposure mark the traded symbol at the reference price, others at
  `context.marks`, else at their average price. Open BUY orders reserve cash, open SELL
  orders reserve the holding.
- Prices are rounded to `rules.price_tick` (nearest tick) before any check looks at them;
  quantities down to `rules.amount_step`, then to 8 decimals. Without rules, only the latter.
- Limit and stop prices must be within `price_collar` of the reference price. A BUY's stop
  must be below, and its target above, both the reference and the limit price; its risk is
  counted from the worse (higher) of the two, and without a stop the whole notional is at risk.
- Stale data (an issue of kind "stale") denies MARKET orders only: a limit order bounds its
  own price. The stale-data breaker separately blocks new entries for the cycle.
- The notional cap applies to opening orders; a SELL of at most what is held is exempt, since
  an exit must never be blocked by a cap sized for entries. The throttle and the duplicate
  guard do apply to exits; only `flatten` is exempt from everything but long-only.
- A confidence outside [0, 1] or not finite is refused on any side; the minimum applies to BUYs.
"""

from __future__ import annotations

import math
from enum import Enum
from operator import attrgetter
from typing import Final, TypeVar

from core.types import (
    Action,
    Denied,
    Hold,
    MarketSnapshot,
    Order,
    OrderType,
    Portfolio,
    Proposal,
    Refusal,
    RiskContext,
    RiskLimits,
    Side,
    TradingState,
    Verdict,
)
from core.types import BreakerSnapshot as Breakers
from core.types import RefusalCode as Code
from risk import checks
from risk.approval import mint
from risk.draft import OrderDraft
from risk.inputs import (
    checked_limits,
    checked_rules,
    held_quantity,
    is_positive,
    number,
    read_book,
    reserved_sells,
    size_multiplier,
    text,
    volatility,
)
from risk.sizing import (
    QUANTITY_DECIMALS,
    SMALLEST_QUANTITY,
    buy_terms,
    round_down,
    round_to_tick,
    size_buy,
    size_sell,
)

__all__ = ["QUANTITY_DECIMALS", "flatten", "validate"]

E = TypeVar("E", bound=Enum)

_MAX_DETAIL: Final = 300
_CREATED: Final = attrgetter("created_ms")
_NO_CONTEXT: Final = RiskContext()


def validate(
    proposal: Proposal,
    portfolio: Portfolio,
    market: MarketSnapshot,
    limits: RiskLimits,
    breakers: Breakers,
    now_ms: int,
    *,
    client_order_id: str,
    context: RiskContext = _NO_CONTEXT,
) -> Verdict:
    """Approved(order), Denied(refusals) or Hold(); never raises, denies on any doubt."""
    try:
        return _validate(
            proposal, portfolio, market, limits, breakers, now_ms, client_order_id, context
        )
    except Exception as exc:
        return _internal_error(exc)


def flatten(
    portfolio: Portfolio,
    market: MarketSnapshot,
    symbol: str,
    now_ms: int,
    *,
    client_order_id: str,
    context: RiskContext = _NO_CONTEXT,
) -> Verdict:
    """The reduce-only exit: a MARKET SELL of the whole free holding of `symbol`.

    For the circuit breakers to close a position when trading is HALTED, so it is allowed in any
    trading state, on stale data, past the throttle, and needs no proposal. The quantity is what
    is held minus what open SELL orders already reserve, rounded down (to `rules.amount_step`,
    then 8 decimals): it can never sell more than is held, so it can never add exposure.
    Hold() when nothing is left to sell. Denied when `symbol` is not the market's (there is no
    price for it), the reference price is unusable, or the holding is under the exchange
    minimum (dust the exchange would reject). Fails closed like `validate`.
    """
    try:
        return _flatten(portfolio, market, symbol, now_ms, client_order_id, context)
    except Exception as exc:
        return _internal_error(exc)


def _internal_error(exc: Exception) -> Denied:
    message = " ".join(f"{type(exc).__name__}: {exc}".split())[:_MAX_DETAIL]
    return Denied(refusals=(Refusal(code=Code.INTERNAL_ERROR, detail=message),))


def _checked_call(client_order_id: str, now_ms: int) -> None:
    if not isinstance(client_order_id, str) or not client_order_id:
        raise ValueError("client_order_id must be a non-empty string")
    if type(now_ms) is not int:
        raise TypeError(f"now_ms must be an int, got {type(now_ms).__name__}")


def _validate(
    proposal: Proposal,
    portfolio: Portfolio,
    market: MarketSnapshot,
    limits: RiskLimits,
    breakers: Breakers,
    now_ms: int,
    client_order_id: str,
    context: RiskContext,
) -> Verdict:
    action = _enum(Action, proposal.action)
    if action is Action.HOLD:
        return Hold()
    _checked_call(client_order_id, now_ms)
    draft = _draft(action, proposal, portfolio, market, limits, breakers, now_ms, context)
    refusals: list[Refusal] = []
    for check in checks.CHECKS:
        found = check(draft)
        if found:
            refusals.extend(found)
    if refusals:
        return Denied(refusals=tuple(refusals))
    order = Order(
        client_order_id=client_order_id,
        symbol=draft.symbol,
        side=draft.side,
        type=draft.order_type,
        quantity=draft.quantity,
        reference_price=draft.reference_price,
        limit_price=draft.limit_price if draft.order_type is OrderType.LIMIT else None,
        stop_price=draft.stop_loss,
        created_ms=now_ms,
    )
    _assert_within_limits(order, draft)
    return mint(order)


def _flatten(
    portfolio: Portfolio,
    market: MarketSnapshot,
    symbol: str,
    now_ms: int,
    client_order_id: str,
    context: RiskContext,
) -> Verdict:
    _checked_call(client_order_id, now_ms)
    symbol = text(symbol, "symbol")
    market_symbol = text(market.info.symbol, "market.info.symbol")
    reference = number(market.price, "market.price")
    rules = checked_rules(context.rules)
    held = held_quantity(portfolio, symbol)
    free = held - reserved_sells(context.open_orders, symbol)
    quantity = round_down(free, rules.amount_step if rules else None)
    if not quantity > 0:
        return Hold()
    refusals: list[Refusal] = []
    if symbol != market_symbol:
        detail = f"symbol={symbol!r} market={market_symbol!r}"
        refusals.append(Refusal(code=Code.UNKNOWN_SYMBOL, detail=detail))
    elif not is_positive(reference):
        refusals.append(Refusal(code=Code.INVALID_PRICE, detail=f"reference_price={reference}"))
    elif rules is not None:
        if rules.min_amount is not None and not quantity >= rules.min_amount:
            detail = f"quantity={quantity:.8f} min_amount={rules.min_amount:.8f}"
            refusals.append(Refusal(code=Code.BELOW_MIN_AMOUNT, detail=detail))
        elif rules.min_notional is not None and not quantity * reference >= rules.min_notional:
            detail = f"notional={quantity * reference:.2f} min_notional={rules.min_notional:.2f}"
            refusals.append(Refusal(code=Code.BELOW_MIN_NOTIONAL, detail=detail))
    if refusals:
        return Denied(refusals=tuple(refusals))
    order = Order(
        client_order_id=client_order_id,
        symbol=symbol,
        side=Side.SELL,
        type=OrderType.MARKET,
        quantity=quantity,
        reference_price=reference,
        created_ms=now_ms,
    )
    _assert_reduce_only(order, held)
    return mint(order)


# --- building the draft ---------------------------------------------------------------------


def _draft(
    action: Action,
    proposal: Proposal,
    portfolio: Portfolio,
    market: MarketSnapshot,
    limits: RiskLimits,
    breakers: Breakers,
    now_ms: int,
    context: RiskContext,
) -> OrderDraft:
    symbol = text(proposal.symbol, "proposal.symbol")
    size_fraction = number(proposal.size_fraction, "proposal.size_fraction")
    reference = number(market.price, "market.price")
    limits = checked_limits(limits)
    rules = checked_rules(context.rules)
    tick, step = (rules.price_tick, rules.amount_step) if rules else (None, None)
    market_symbol = text(market.info.symbol, "market.info.symbol")
    threshold = limits.correlation_threshold
    book = read_book(portfolio, symbol, market_symbol, reference, context, threshold)
    order_type = _enum(OrderType, proposal.order_type)
    limit_price = _price(proposal.limit_price, "proposal.limit_price", tick)
    stop_loss = _price(proposal.stop_loss, "proposal.stop_loss", tick)
    take_profit = _price(proposal.take_profit, "proposal.take_profit", tick)
    confidence = number(proposal.confidence, "proposal.confidence")
    multiplier = size_multiplier(breakers)
    if action is Action.BUY:
        side = Side.BUY
        terms = buy_terms(
            reference=reference,
            execution=(
                limit_price
                if order_type is OrderType.LIMIT and limit_price is not None
                else reference
            ),
            stop=stop_loss,
            take_profit=take_profit,
            confidence=confidence,
            equity=book.equity,
            held=book.committed,
            correlated_exposure=book.correlated_exposure if book.correlated else None,
            volatility=volatility(context),
            multiplier=multiplier,
            limits=limits,
        )
        requested = size_fraction * book.equity / reference if reference else math.nan
        sizing = size_buy(requested, terms, step)
    else:
        side = Side.SELL
        sizing = size_sell(size_fraction * book.held, step)
    quantity, held = sizing.quantity, book.held
    execution = reference
    if order_type is OrderType.LIMIT and limit_price is not None:
        execution = limit_price
    quantity_ok = 0.0 < quantity < math.inf
    prices_ok = 0.0 < reference < math.inf and 0.0 < execution < math.inf
    return OrderDraft(
        symbol=symbol,
        market_symbol=market_symbol,
        side=side,
        is_buy=side is Side.BUY,
        order_type=order_type,
        size_fraction=size_fraction,
        sizing=sizing,
        requested_ok=SMALLEST_QUANTITY <= sizing.requested < math.inf,
        quantity=quantity,
        reference_price=reference,
        limit_price=limit_price,
        execution_price=execution,
        stop_loss=stop_loss,
        take_profit=take_profit,
        confidence=confidence,
        book=book,
        held=held,
        equity=book.equity,
        notional=quantity * execution,
        quantity_ok=quantity_ok,
        prices_ok=prices_ok,
        sized=quantity_ok and prices_ok,
        reduces=side is Side.SELL and held > 0 and quantity <= held,
        stale=bool(market.stale),
        state=_enum(TradingState, breakers.state),
        breaker_reasons=breakers.reasons,
        rules=rules,
        recent_orders=context.recent_orders,
        recent_created=list(map(_CREATED, context.recent_orders)),
        now_ms=now_ms,
        limits=limits,
    )


def _enum(kind: type[E], value: object) -> E:
    """The member `value` is, or the member it names (ValueError when none)."""
    return value if type(value) is kind else kind(value)


def _price(value: object, name: str, tick: float | None) -> float | None:
    if value is None:
        return None
    return round_to_tick(number(value, name), tick)


# --- last line of defence -------------------------------------------------------------------


def _assert_within_limits(order: Order, draft: OrderDraft) -> None:
    """The hard limits, re-checked on the order about to be minted.

    The checks above should make this unreachable; if a bug lets an order through, this raises
    and `validate` turns it into INTERNAL_ERROR instead of an approval.
    """
    limits, book, state, inf = draft.limits, draft.book, draft.state, math.inf
    quantity, reference, stop = order.quantity, order.reference_price, order.stop_price
    limit_price = order.limit_price
    band = limits.price_collar * reference
    failed: list[str] = []
    if not (0.0 < quantity < inf and 0.0 < reference < inf):
        failed.append("quantity and reference price finite and positive")
    if state is TradingState.HALTED:
        failed.append("not halted")
    if limit_price is not None and not abs(limit_price - reference) <= band:
        failed.append("limit price collar")
    if stop is not None and not abs(stop - reference) <= band:
        failed.append("stop price collar")
    if order.type is OrderType.MARKET and draft.stale:
        failed.append("no market order on stale data")
    if order.side is Side.BUY:
        held, equity = book.committed, book.equity
        notional = quantity * (reference if limit_price is None else limit_price)
        if state is not TradingState.ACTIVE:
            failed.append("buys only when active")
        if not quantity <= draft.sizing.requested:
            failed.append("never sized up")
        if not notional <= limits.max_order_notional:
            failed.append("notional")
        if not notional <= book.free_cash * (1.0 - limits.fee_reserve):
            failed.append("cash")
        if not (held + quantity) * reference <= limits.max_position_fraction * equity:
            failed.append("position fraction")
        gross = book.other_exposure + abs(held + quantity) * reference
        if not gross <= limits.max_gross_exposure * equity:
            failed.append("gross exposure")
        if stop is None and limits.require_stop_loss:
            failed.append("stop-loss")
        failed += draft.sizing.unfit(quantity)
    elif not (quantity <= book.held and quantity <= book.free_held):
        failed.append("long-only")
    if failed:
        raise AssertionError(f"approval would break limits: {', '.join(failed)}")


def _assert_reduce_only(order: Order, held: float) -> None:
    """The flatten path's last line of defence: a market SELL of at most what is held."""
    if not (
        order.side is Side.SELL
        and order.type is OrderType.MARKET
        and is_positive(order.quantity)
        and order.quantity <= held
    ):
        raise AssertionError(
            f"flatten would not be reduce-only: {order.side.value} {order.quantity} held={held}"
        )
