"""An independent re-check of executed orders against the limits in force when they were sent.

The validator is the gate; this is the auditor. It shares no code with `risk/`: it recomputes
each limit from the order and the portfolio before it, so a bug in a validator check shows up
here as a violation instead of passing silently. Run summaries report the count.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from core.types import Order, Portfolio, RiskLimits, Side, TradingState

TOLERANCE = 1e-9


class ExecutedOrder(BaseModel):
    """An order that reached the broker, with what was true when it was sent."""

    model_config = ConfigDict(frozen=True)

    order: Order
    flatten: bool
    confidence: float | None
    portfolio: Portfolio
    open_orders: tuple[Order, ...] = ()
    marks: dict[str, float]
    state: TradingState
    limits: RiskLimits


def _within(value: float, limit: float) -> bool:
    return math.isfinite(value) and value <= limit * (1 + TOLERANCE) + TOLERANCE


def order_violations(record: ExecutedOrder) -> list[str]:
    """Every limit this executed order broke, in words; empty when it kept them all."""
    order, book = record.order, record.portfolio
    price = order.limit_price or order.reference_price
    if not (math.isfinite(order.quantity) and order.quantity > 0 and math.isfinite(price)):
        return [f"quantity {order.quantity} or price {price} not finite and positive"]
    held = book.quantity(order.symbol)
    if order.side is Side.SELL:
        reserved = sum(
            o.quantity
            for o in record.open_orders
            if o.side is Side.SELL and o.symbol == order.symbol
        )
        problems = []
        if not _within(order.quantity, held - reserved):
            problems.append(
                f"sold {order.quantity} with {held - reserved} free: short or double exit"
            )
        if record.state is TradingState.HALTED and not record.flatten:
            problems.append("a sell while HALTED that is not the breakers' flatten")
        return problems
    if record.flatten:
        return ["a flatten order that buys"]
    return _buy_violations(record, price)


def _buy_violations(record: ExecutedOrder, price: float) -> list[str]:
    order, book, limits = record.order, record.portfolio, record.limits
    marks = {**record.marks, order.symbol: order.reference_price}
    equity = book.equity(marks)
    notional = order.quantity * price
    problems: list[str] = []
    if record.state is not TradingState.ACTIVE:
        problems.append(f"buy while {record.state.value}")
    if not _within(notional, limits.max_order_notional):
        problems.append(f"notional {notional:.2f} > {limits.max_order_notional:.2f}")
    pending = sum(
        o.quantity for o in record.open_orders if o.side is Side.BUY and o.symbol == order.symbol
    )
    position = (book.quantity(order.symbol) + pending + order.quantity) * order.reference_price
    if not _within(position, limits.max_position_fraction * equity):
        problems.append(f"position {position:.2f} > {limits.max_position_fraction:.0%} of equity")
    in_flight = sum(
        o.quantity * (o.limit_price or o.reference_price)
        for o in record.open_orders
        if o.side is Side.BUY
    )
    gross = book.exposure(marks) + in_flight + order.quantity * order.reference_price
    if not _within(gross, limits.max_gross_exposure * equity):
        problems.append(f"gross exposure {gross:.2f} > {limits.max_gross_exposure:.0%} of equity")
    reserved = sum(
        o.quantity * (o.limit_price or o.reference_price)
        for o in record.open_orders
        if o.side is Side.BUY
    )
    free = (book.cash - reserved) * (1 - limits.fee_reserve)
    if not _within(notional, free):
        problems.append(f"notional {notional:.2f} > free cash {free:.2f}")
    if record.confidence is None or not record.confidence >= limits.min_confidence:
        problems.append(f"confidence {record.confidence} < {limits.min_confidence}")
    stop = order.stop_price
    if limits.require_stop_loss and stop is None:
        problems.append("opening order without a stop-loss")
    if stop is not None:
        risk = order.quantity * (order.reference_price - stop)
        if not stop < order.reference_price:
            problems.append(f"stop {stop} not below the price {order.reference_price}")
        elif not _within(risk, limits.risk_per_trade * equity):
            problems.append(f"risk at stop {risk:.2f} > {limits.risk_per_trade:.1%} of equity")
    if order.symbol not in book.positions and len(book.positions) >= limits.max_open_positions:
        problems.append(f"opens position {len(book.positions) + 1} > {limits.max_open_positions}")
    if limits.allowed_symbols and order.symbol not in limits.allowed_symbols:
        problems.append(f"{order.symbol} not in the allow-list")
    return problems


def count_violations(records: list[ExecutedOrder]) -> tuple[int, list[str]]:
    """How many executed orders broke a limit, and the first few descriptions."""
    broken = [(r.order.client_order_id, order_violations(r)) for r in records]
    described = [f"{cid}: {'; '.join(v)}" for cid, v in broken if v]
    return len(described), described[:20]
