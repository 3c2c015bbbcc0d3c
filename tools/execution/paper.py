"""The paper broker: fills approved orders at the next candle, like a backtest should.

A decision is made at a candle's close; the order it produces can only fill during the
following candle: a market order at its open, moved against the trader by the slippage; a
limit order at its limit (or the open, if better) when the candle trades through it, else it
is cancelled (time in force: one candle). Every fill pays the taker fee. The prices, fees and
quantities are those of the one fill model (`tools.fills`) the baselines and the quick
backtest fill with too.

The stop-loss approved with an entry rests with the position, as a bracket order does on an
exchange: when a candle's low reaches it, the position is sold at the stop (or at the open,
if the candle gapped below it), with slippage. It was checked by the validator with the entry
(below the price, inside the collar, within the risk per trade); nothing else is sent unasked.
"""

from __future__ import annotations

from core.backends import LedgerStore
from core.types import Approved, Candle, Fill, Order, OrderType, Portfolio, Side
from risk.approval import verify
from tools.fills import (
    affordable_quantity,
    fee,
    limit_fill_price,
    market_fill_price,
    stop_fill_price,
    stop_triggered,
)


class PaperBroker:
    def __init__(self, ledger: LedgerStore, *, fee_rate: float, slippage_bps: float) -> None:
        self._ledger = ledger
        self._fee_rate = fee_rate
        self._slippage_bps = slippage_bps

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

    def cancel_pending(self, side: Side | None = None, symbol: str | None = None) -> list[Order]:
        """Cancel pending orders, of one side or all, of one symbol or all (a halt cancels
        all; leaving ACTIVE cancels the BUYs, so exits stay); the orders cancelled."""
        chosen = [
            o
            for o in self._ledger.pending_orders()
            if (side is None or o.side is side) and (symbol is None or o.symbol == symbol)
        ]
        for order in chosen:
            self._ledger.cancel(order.client_order_id)
        return chosen

    def on_candle(self, symbol: str, candle: Candle) -> list[Fill]:
        """Fill what this newly closed candle of `symbol` fills: that symbol's pending orders,
        then its resting stop."""
        fills = []
        for order in self._ledger.pending_orders():
            if order.symbol != symbol or candle.ts < order.created_ms:
                continue
            fill = self._fill(order, candle)
            if fill is None:
                self._ledger.cancel(order.client_order_id)  # one candle in force
                continue
            if self._ledger.record_fill(fill, order.stop_price):
                fills.append(fill)
        fills.extend(self._trigger_stop(symbol, candle))
        return fills

    def _trigger_stop(self, symbol: str, candle: Candle) -> list[Fill]:
        fills: list[Fill] = []
        position = self._ledger.portfolio.positions.get(symbol)
        if position is not None:
            stop = position.stop_loss
            if stop is None or position.quantity <= 0 or not stop_triggered(stop, candle.low):
                return fills
            exit_order = Order(
                client_order_id=f"stop-{self._ledger.run_id}-{position.symbol}-{candle.ts}",
                symbol=position.symbol,
                side=Side.SELL,
                type=OrderType.MARKET,
                quantity=position.quantity,
                reference_price=stop,
                stop_price=stop,
                created_ms=candle.ts,
            )
            price = stop_fill_price(stop, candle.open, self._slippage_bps)
            fill = Fill(
                client_order_id=exit_order.client_order_id,
                symbol=position.symbol,
                side=Side.SELL,
                quantity=position.quantity,
                price=price,
                fee=fee(position.quantity * price, self._fee_rate),
                ts=candle.ts,
            )
            if self._ledger.record_order(exit_order) and self._ledger.record_fill(fill):
                fills.append(fill)
        return fills

    def _fill(self, order: Order, candle: Candle) -> Fill | None:
        if order.type is OrderType.MARKET:
            price = market_fill_price(candle.open, order.side, self._slippage_bps)
        elif order.limit_price is None:
            return None
        else:
            limit_fill = limit_fill_price(
                order.side, order.limit_price, open_=candle.open, high=candle.high, low=candle.low
            )
            if limit_fill is None:
                return None
            price = limit_fill
        quantity = order.quantity
        if order.side is Side.BUY:
            cash = self._ledger.portfolio.cash
            quantity = min(quantity, affordable_quantity(cash, price, self._fee_rate))
        else:
            quantity = min(quantity, self._ledger.portfolio.quantity(order.symbol))
        if quantity <= 0:
            return None
        return Fill(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            fee=fee(quantity * price, self._fee_rate),
            ts=candle.ts,
        )
