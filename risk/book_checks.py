"""The validator's checks against the book: order notional, position share, gross exposure,
open positions, free cash and free holding, long-only. These deny; they never resize (the
resizing caps are in `risk.sizing`). They look at the final quantity, after the caps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from core.types import Refusal, Side
from core.types import RefusalCode as Code
from risk.draft import OrderDraft


def check_notional(draft: OrderDraft) -> Sequence[Refusal]:
    """The fat-finger cap on opening orders. A SELL of at most what is held only reduces risk,
    and an exit must never be stuck behind a cap sized for entries."""
    if not draft.sized or draft.reduces:
        return ()
    limit = draft.limits.max_order_notional
    if not draft.notional <= limit:
        detail = f"notional={draft.notional:.2f} limit={limit:.2f}"
        return [Refusal(code=Code.MAX_NOTIONAL_EXCEEDED, detail=detail)]
    return ()


def check_position(draft: OrderDraft) -> Sequence[Refusal]:
    """BUY: the position after the fill, at the reference price, within its share of equity."""
    if not (draft.is_buy and draft.sized):
        return ()
    value = draft.position_value
    cap = draft.limits.max_position_fraction * draft.equity
    if not value <= cap:
        detail = (
            f"position_value={value:.2f} limit={cap:.2f} "
            f"({draft.limits.max_position_fraction:.2%} of equity={draft.equity:.2f})"
        )
        return [Refusal(code=Code.MAX_POSITION_EXCEEDED, detail=detail)]
    return ()


def check_gross_exposure(draft: OrderDraft) -> Sequence[Refusal]:
    """BUY: sum of |position| x mark over every symbol, after the fill, within its share of
    equity. (A SELL within the holding only lowers it.)"""
    if not (draft.is_buy and draft.sized):
        return ()
    committed = draft.book.committed + draft.quantity
    exposure = draft.book.other_exposure + abs(committed) * draft.reference_price
    cap = draft.limits.max_gross_exposure * draft.equity
    if not exposure <= cap:
        detail = (
            f"gross_exposure={exposure:.2f} limit={cap:.2f} "
            f"({draft.limits.max_gross_exposure:.2%} of equity={draft.equity:.2f})"
        )
        return [Refusal(code=Code.MAX_EXPOSURE_EXCEEDED, detail=detail)]
    return ()


def check_open_positions(draft: OrderDraft) -> Sequence[Refusal]:
    """BUY of a symbol not held while `max_open_positions` symbols are already held."""
    if not draft.is_buy or draft.held > 0:
        return ()
    open_now, limit = draft.book.other_open_positions, draft.limits.max_open_positions
    if not open_now < limit:
        return [Refusal(code=Code.MAX_OPEN_POSITIONS, detail=f"open={open_now} limit={limit}")]
    return ()


def check_balance(draft: OrderDraft) -> Sequence[Refusal]:
    """BUY: the notional fits in the cash that open BUY orders have not reserved, keeping
    `fee_reserve` of it for fees and slippage. SELL: at most the holding that open SELL orders
    have not reserved (selling more than is held at all is SHORT_NOT_ALLOWED instead)."""
    if not draft.sized:
        return ()
    book = draft.book
    if draft.is_buy:
        spendable = book.free_cash * (1.0 - draft.limits.fee_reserve)
        if not draft.notional <= spendable:
            detail = (
                f"notional={draft.notional:.2f} spendable={spendable:.2f} "
                f"(cash={book.cash:.2f} reserved={book.reserved_cash:.2f} "
                f"fee_reserve={draft.limits.fee_reserve:.2%})"
            )
            return [Refusal(code=Code.INSUFFICIENT_BALANCE, detail=detail)]
    elif draft.quantity <= draft.held and not draft.quantity <= book.free_held:
        detail = (
            f"quantity={draft.quantity:.8f} free={book.free_held:.8f} "
            f"(held={draft.held:.8f} reserved={book.reserved_held:.8f})"
        )
        return [Refusal(code=Code.INSUFFICIENT_BALANCE, detail=detail)]
    return ()


def check_long_only(draft: OrderDraft) -> Sequence[Refusal]:
    """SELL: spot is long-only and unlevered, so never more than is held."""
    if draft.side is not Side.SELL:
        return ()
    if not draft.held > 0:
        return [Refusal(code=Code.SHORT_NOT_ALLOWED, detail=f"held={draft.held:.8f}")]
    if draft.quantity_ok and not draft.quantity <= draft.held:
        detail = f"quantity={draft.quantity:.8f} held={draft.held:.8f}"
        return [Refusal(code=Code.SHORT_NOT_ALLOWED, detail=detail)]
    return ()


CHECKS: Final[tuple[Callable[[OrderDraft], Sequence[Refusal]], ...]] = (
    check_notional,
    check_position,
    check_gross_exposure,
    check_open_positions,
    check_balance,
    check_long_only,
)
