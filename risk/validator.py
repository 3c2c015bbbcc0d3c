"""The risk validator: the only way an analyst's proposal becomes an order.

`validate` is pure and deterministic: the same inputs always give the same verdict (only an
approval's signature differs between processes). It fails closed: a corrupt input or any
exception inside it becomes a Denied(INTERNAL_ERROR), never an exception and never an approval.

How to read it: `_draft` turns the proposal into the order it would be (an OrderDraft), with
every number the checks need; each check in `risk.checks.CHECKS` returns the refusals that apply
(all are collected, not just the first); `_assert_within_limits` re-checks the hard limits on
the final order before `mint`, so a bug in a check cannot turn into an approval.

Policy choices a reviewer should know:
- Numbers from the proposal and the reference price get their own refusal codes when they are
  not finite; a non-finite or wrongly typed number elsewhere (portfolio, limits) is corruption
  and gives INTERNAL_ERROR.
- LIMIT orders are approved only with a finite positive limit price within
  checks.LIMIT_PRICE_BAND (10%) of the reference price, either side; their notional is counted
  at the limit price. MARKET orders are counted at the reference price.
- Stale data (an issue of kind "stale") denies MARKET orders only: a limit order bounds its
  own price. The stale-data breaker separately blocks new entries for the cycle.
- The notional cap applies to BUYs; a SELL of at most what is held is exempt, since an exit
  must never be blocked by a cap sized for entries.
- A confidence outside [0, 1] or not finite is refused on any side; the minimum applies to BUYs.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Context, Decimal
from typing import Final

from core.types import (
    Action,
    Denied,
    Hold,
    MarketSnapshot,
    Order,
    OrderType,
    Portfolio,
    Position,
    Proposal,
    Refusal,
    RiskLimits,
    Side,
    TradingState,
    Verdict,
)
from core.types import BreakerSnapshot as Breakers
from core.types import RefusalCode as Code
from risk import checks
from risk.approval import mint
from risk.checks import OrderDraft, is_positive

QUANTITY_DECIMALS: Final = 8
_QUANTUM: Final = Decimal(1).scaleb(-QUANTITY_DECIMALS)
# Enough digits for any finite float (up to ~1.8e308) plus the decimals, so quantize never fails.
_DECIMAL_CONTEXT: Final = Context(prec=400, rounding=ROUND_DOWN)
_MAX_DETAIL: Final = 300


def validate(
    proposal: Proposal,
    portfolio: Portfolio,
    market: MarketSnapshot,
    limits: RiskLimits,
    breakers: Breakers,
    now_ms: int,
    *,
    client_order_id: str,
) -> Verdict:
    """Approved(order), Denied(refusals) or Hold(); never raises, denies on any doubt."""
    try:
        return _validate(proposal, portfolio, market, limits, breakers, now_ms, client_order_id)
    except Exception as exc:
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:_MAX_DETAIL]
        return Denied(refusals=(Refusal(code=Code.INTERNAL_ERROR, detail=message),))


def _validate(
    proposal: Proposal,
    portfolio: Portfolio,
    market: MarketSnapshot,
    limits: RiskLimits,
    breakers: Breakers,
    now_ms: int,
    client_order_id: str,
) -> Verdict:
    action = Action(proposal.action)
    if action is Action.HOLD:
        return Hold()
    if not isinstance(client_order_id, str) or not client_order_id:
        raise ValueError("client_order_id must be a non-empty string")
    if type(now_ms) is not int:
        raise TypeError(f"now_ms must be an int, got {type(now_ms).__name__}")
    draft = _draft(action, proposal, portfolio, market, limits, breakers)
    refusals = [refusal for check in checks.CHECKS for refusal in check(draft)]
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


# --- building the draft ---------------------------------------------------------------------


def _draft(
    action: Action,
    proposal: Proposal,
    portfolio: Portfolio,
    market: MarketSnapshot,
    limits: RiskLimits,
    breakers: Breakers,
) -> OrderDraft:
    symbol = _text(proposal.symbol, "proposal.symbol")
    market_symbol = _text(market.info.symbol, "market.info.symbol")
    size_fraction = _number(proposal.size_fraction, "proposal.size_fraction")
    reference_price = _number(market.price, "market.price")
    cash, positions = _checked_portfolio(portfolio)
    _checked_limits(limits)
    held = positions[symbol].quantity if symbol in positions else 0.0
    marks = {market_symbol: reference_price} if is_positive(reference_price) else {}
    equity = portfolio.equity(marks) if marks else math.nan
    side = Side.BUY if action is Action.BUY else Side.SELL
    return OrderDraft(
        symbol=symbol,
        side=side,
        order_type=OrderType(proposal.order_type),
        size_fraction=size_fraction,
        quantity=_quantity(side, size_fraction, equity, reference_price, held),
        reference_price=reference_price,
        limit_price=_optional_number(proposal.limit_price, "proposal.limit_price"),
        stop_loss=_optional_number(proposal.stop_loss, "proposal.stop_loss"),
        take_profit=_optional_number(proposal.take_profit, "proposal.take_profit"),
        confidence=_number(proposal.confidence, "proposal.confidence"),
        held=held,
        cash=cash,
        equity=equity,
        market_symbol=market_symbol,
        stale=bool(market.stale),
        state=TradingState(breakers.state),
        breaker_reasons=tuple(str(reason) for reason in breakers.reasons),
        limits=limits,
    )


def _quantity(side: Side, size_fraction: float, equity: float, price: float, held: float) -> float:
    """BUY: that fraction of equity at the reference price; SELL: that fraction of the holding.

    Rounded down to QUANTITY_DECIMALS, so rounding never makes an order bigger. NaN when it
    cannot be computed; the quantity check then refuses it.
    """
    if not math.isfinite(size_fraction):
        return math.nan
    if side is Side.BUY:
        raw = size_fraction * equity / price if is_positive(price) else math.nan
    else:
        raw = size_fraction * held
    if not is_positive(raw):
        return raw
    rounded = Decimal(repr(raw)).quantize(_QUANTUM, rounding=ROUND_DOWN, context=_DECIMAL_CONTEXT)
    return float(rounded)


def _checked_portfolio(portfolio: Portfolio) -> tuple[float, dict[str, Position]]:
    """Cash and positions, or an exception if the portfolio is corrupt (non-finite, wrong type)."""
    cash = _finite(portfolio.cash, "portfolio.cash")
    positions = portfolio.positions
    if not isinstance(positions, dict):
        raise TypeError(f"portfolio.positions is a {type(positions).__name__}, not a dict")
    for symbol, position in positions.items():
        if not isinstance(position, Position):
            raise TypeError(f"portfolio.positions[{symbol!r}] is not a Position")
        _finite(position.quantity, f"position {symbol} quantity")
        _finite(position.avg_price, f"position {symbol} avg_price")
    return cash, positions


def _checked_limits(limits: RiskLimits) -> None:
    """Limits come from configuration; a non-finite one is corruption, not a refusal."""
    for name in ("max_order_notional", "max_position_fraction", "min_confidence", "fee_reserve"):
        _finite(getattr(limits, name), f"limits.{name}")
    if not isinstance(limits.allowed_symbols, tuple):
        raise TypeError("limits.allowed_symbols must be a tuple")


def _number(value: object, name: str) -> float:
    """A real number (possibly NaN or infinite); bool, str, None and others raise TypeError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} is a {type(value).__name__}, not a number")
    return float(value)


def _optional_number(value: object, name: str) -> float | None:
    return None if value is None else _number(value, name)


def _finite(value: object, name: str) -> float:
    number = _number(value, name)
    if not math.isfinite(number):
        raise ValueError(f"{name}={number} is not finite")
    return number


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} is a {type(value).__name__}, not a str")
    return value


def _assert_within_limits(order: Order, draft: OrderDraft) -> None:
    """Last line of defence: the hard limits, re-checked on the order about to be minted.

    The checks above should make this unreachable; if a bug lets an order through, this raises
    and `validate` turns it into INTERNAL_ERROR instead of an approval.
    """
    limits = draft.limits
    failed: list[str] = []
    if not (is_positive(order.quantity) and is_positive(order.reference_price)):
        failed.append("quantity and reference price finite and positive")
    if order.side is Side.BUY and not order.notional <= limits.max_order_notional:
        failed.append("notional")
    if draft.state is TradingState.HALTED:
        failed.append("not halted")
    if order.side is Side.BUY:
        if draft.state is not TradingState.ACTIVE:
            failed.append("buys only when active")
        if not order.notional <= draft.cash * (1.0 - limits.fee_reserve):
            failed.append("cash")
        position_value = (draft.held + order.quantity) * order.reference_price
        if not position_value <= limits.max_position_fraction * draft.equity:
            failed.append("position fraction")
    elif not order.quantity <= draft.held:
        failed.append("long-only")
    if failed:
        raise AssertionError(f"approval would break limits: {', '.join(failed)}")
