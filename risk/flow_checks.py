"""The validator's checks on the order flow, from `RiskContext.recent_orders`: the order-rate
throttle and the duplicate guard. They apply to every order, exits included; only the
`flatten` path is exempt.

Windows: an order counts as within a window of W ms when `now_ms - created_ms < W` (an order
stamped in the future, by clock skew, counts too). The throttle refuses when the orders already
in the last minute reach `max_orders_per_minute`, or those in the last 24 hours reach
`max_orders_per_day`: this order would be one too many.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import compress
from typing import Final

from core.types import Refusal
from core.types import RefusalCode as Code
from risk.draft import OrderDraft
from risk.inputs import DAY_MS, MINUTE_MS

DUPLICATE_TOLERANCE: Final = 1e-9
"""Two quantities are the same order when they differ by at most this fraction of the larger."""


def check_rate(draft: OrderDraft) -> Sequence[Refusal]:
    now, limits = draft.now_ms, draft.limits
    created = draft.recent_created
    # now - created_ms < window. int.__lt__ answers NotImplemented for anything but an int,
    # which makes sum() raise: a corrupt timestamp denies (INTERNAL_ERROR), never undercounts.
    minute = sum(map((now - MINUTE_MS).__lt__, created))
    day = sum(map((now - DAY_MS).__lt__, created))
    refusals: list[Refusal] = []
    if not minute < limits.max_orders_per_minute:
        detail = f"orders_last_minute={minute} limit={limits.max_orders_per_minute}"
        refusals.append(Refusal(code=Code.RATE_LIMITED, detail=detail))
    if not day < limits.max_orders_per_day:
        detail = f"orders_last_day={day} limit={limits.max_orders_per_day}"
        refusals.append(Refusal(code=Code.RATE_LIMITED, detail=detail))
    return refusals


def same_quantity(a: float, b: float) -> bool:
    return abs(a - b) <= DUPLICATE_TOLERANCE * max(abs(a), abs(b))


def check_duplicate(draft: OrderDraft) -> Sequence[Refusal]:
    """The same symbol, side and quantity as an order sent within `duplicate_window_seconds`:
    most likely a retry or a replayed decision, not a new intention."""
    window_ms = draft.limits.duplicate_window_seconds * 1000.0
    if not draft.quantity_ok:
        return ()
    symbol, side, quantity, now = draft.symbol, draft.side, draft.quantity, draft.now_ms
    within = map((now - window_ms).__lt__, draft.recent_created)  # now - created_ms < window
    for order in compress(draft.recent_orders, within):
        if order.symbol != symbol or order.side is not side:
            continue
        if not 0.0 <= order.quantity < math.inf:
            raise ValueError(f"recent order quantity={order.quantity} is not finite and >= 0")
        if same_quantity(order.quantity, quantity):
            detail = (
                f"{side.value} {quantity:.8f} {symbol} sent {(now - order.created_ms) / 1000:.1f}s "
                f"ago; window={draft.limits.duplicate_window_seconds}s"
            )
            return [Refusal(code=Code.DUPLICATE_ORDER, detail=detail)]
    return ()


CHECKS: Final[tuple[Callable[[OrderDraft], Sequence[Refusal]], ...]] = (check_rate, check_duplicate)
