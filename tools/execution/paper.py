"""The paper broker: fills approved market orders at the next candle's open, like a backtest should.

A decision is made at a candle's close; the order it produces can only fill at the open of the
following candle, moved against the trader by the slippage, and pays the taker fee.
"""

from __future__ import annotations

from core.ledger import Ledger
from core.types import Approved, Candle, Fill, Order, OrderType, Portfolio, Side
from risk.approval import verify


class PaperBroker:
    def __init__(self, ledger: Ledger, *, fee_rate: float, slippage_bps: float) -> None:
        self._ledger = ledger
        self._fee_rate = fee_rate
        self._slippage = slippage_bps / 10_000.0

    @property
    def portfolio(self) -> Portfolio:
        return self._ledger.portfolio

    def submit(self, approved: Approved) -> Order:
        """Accept an approved order (idempotent by client order id); reject anything else."""
        order = verify(approved)
        self._ledger.record_order(order)
        return order

    def pending(self) -> list[Order]:
        return self._ledger.pending_orders()

    def cancel_all(self) -> list[Order]:
        """Cancel every pending order (a halt does this); the orders cancelled."""
        pending = self._ledger.pending_orders()
        for order in pending:
            self._ledger.cancel(order.client_order_id)
        return pending

    def on_candle(self, candle: Candle) -> list[Fill]:
        """Fill the pending orders that this newly closed candle's open can fill."""
        fills = []
        for order in self._ledger.pending_orders():
            fill = self._fill(order, candle)
            if fill is None:
                continue
            if self._ledger.record_fill(fill, order.stop_price):
                fills.append(fill)
        return fills

    def _fill(self, order: Order, candle: Candle) -> Fill | None:
        if candle.ts < order.created_ms:
            return None
        if order.type is OrderType.MARKET:
            direction = 1.0 if order.side is Side.BUY else -1.0
            price = candle.open * (1.0 + direction * self._slippage)
        else:
            limit_fill = self._limit_price(order, candle)
            if limit_fill is None:
                return None
            price = limit_fill
        quantity = order.quantity
        if order.side is Side.BUY:
            affordable = self._ledger.portfolio.cash / (price * (1.0 + self._fee_rate))
            quantity = min(quantity, affordable)
        else:
            quantity = min(quantity, self._ledger.portfolio.quantity(order.symbol))
        if quantity <= 0:
            self._ledger.cancel(order.client_order_id)
            return None
        return Fill(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            fee=quantity * price * self._fee_rate,
            ts=candle.ts,
        )

    @staticmethod
    def _limit_price(order: Order, candle: Candle) -> float | None:
        limit = order.limit_price
        if limit is None:
            return None
        if order.side is Side.BUY and candle.low <= limit:
            return min(limit, candle.open)
        if order.side is Side.SELL and candle.high >= limit:
            return max(limit, candle.open)
        return None
