"""The exchange broker: approved orders sent through ccxt, and their trades kept in the ledger.

Behind the same port as the paper broker. What it guarantees:
- only validator-signed approvals are sent: `verify` runs before any network call;
- an order's client order id is the exchange's client id, and it is never sent twice for a
  new order: after any failure of a send, and whenever an order the ledger already knows is
  submitted again, the id is looked up on the exchange first; found, the order is adopted;
  not found, it is sent (once more);
- network faults (timeouts, dropped connections, 429, 5xx) are retried with exponential
  backoff and jitter within a deadline; each `ExchangeNotAvailable` is reported to `on_error`
  (for the error-rate breaker), and one that outlasts the deadline is an
  `ExchangeUnavailableError` (`tools.execution.exchange_calls`);
- refusals (insufficient funds, invalid orders) are not retried: the order is marked rejected
  in the ledger with the reason, and `OrderRejectedError` is raised;
- every exchange trade is recorded once, by trade id, with the exchange's price and fee, so
  partial fills accumulate exactly;
- the API key and secret never reach a log line, an error message or the ledger.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import ccxt

from core.backends import LedgerStore
from core.errors import BrokerError
from core.types import Approved, Candle, Fill, Order, OrderType, Portfolio, Side, TraceEvent
from risk.approval import verify
from tools.execution.exchange_calls import (
    ErrorSink,
    ExchangeCalls,
    OrderRejectedError,
    RetryPolicy,
)
from tools.execution.exchange_stops import (
    held_stop_exit,
    is_stop,
    native_stop,
    stop_params,
    supports_native_stops,
)
from tools.execution.exchange_trades import fill_from_trade, new_trades
from tools.execution.log_redaction import keep_out_of_logs
from tools.fills import stop_triggered

log = logging.getLogger(__name__)

REFUSALS = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest)
"""Answers that retrying cannot change: the order is recorded as rejected."""
DONE_STATUSES = frozenset({"closed", "canceled", "cancelled", "expired", "rejected"})


EventSink = Callable[[TraceEvent], None]
"""Hears of each correction the broker makes to the ledger (for the next trace)."""


class CcxtBroker:
    """Trades one account's approved orders on a ccxt exchange, recording them in `ledger`."""

    def __init__(
        self,
        exchange: Any,
        ledger: LedgerStore,
        *,
        retry: RetryPolicy | None = None,
        on_error: ErrorSink | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_event: EventSink | None = None,
    ) -> None:
        self._exchange = exchange
        self._ledger = ledger
        self._calls = ExchangeCalls(exchange, retry or RetryPolicy(), on_error, sleep)
        self._on_event = on_event
        self._filled_seen: dict[str, float] = {}
        self._native_stops = supports_native_stops(exchange)
        self._unsure = False
        """An order's outcome is unknown: reconcile before anything else is sent."""
        keep_out_of_logs(exchange.apiKey, exchange.secret)

    @property
    def exchange(self) -> Any:
        return self._exchange

    @property
    def ledger(self) -> LedgerStore:
        return self._ledger

    @property
    def portfolio(self) -> Portfolio:
        return self._ledger.portfolio

    def submit(self, approved: Approved) -> Order:
        """Send an approved order (idempotent by client order id) and record what filled."""
        order = verify(approved)  # a forged or altered approval stops here, before any I/O
        if self._unsure:
            self.resolve_unknown()
        if order.side is Side.SELL:
            self._cancel_stops(order.symbol)  # the exchange locks what a stop would sell
        self._send_once(order)
        return order

    def _send_once(self, order: Order) -> None:
        """Place `order` unless the ledger has it done; record what filled."""
        known = self._ledger.status(order.client_order_id)
        if known is not None and known[0] != "pending":
            return  # already done: nothing is sent again
        if known is None:
            self._ledger.record_order(order)
        try:
            placed = self._place(order, look_up_first=known is not None)
        except REFUSALS as exc:
            reason = self._calls.clean(f"{type(exc).__name__}: {exc}")
            self._ledger.reject(order.client_order_id, reason)
            log.warning("order %s rejected: %s", order.client_order_id, reason)
            raise OrderRejectedError(f"order {order.client_order_id} rejected: {reason}") from None
        except ccxt.BaseError as exc:  # still pending: looked up before anything else is sent
            self._unsure = True
            self._calls.raise_typed(exc)
        self.sync(order, placed)

    def resolve_unknown(self) -> None:
        """Reconcile the symbols in play (after a send whose answer was lost): every pending
        order settled by its client id, before anything else is sent."""
        from tools.execution.reconcile import reconcile

        ledger = self._ledger
        symbols = {o.symbol for o in ledger.pending_orders()} | set(ledger.portfolio.positions)
        for event in reconcile(self, sorted(symbols), int(self._exchange.milliseconds())):
            self._emit(event)
        self._unsure = False

    def pending(self) -> list[Order]:
        """The pending orders the validator counts (the broker's own stops are not among them,
        as the paper broker's resting stops are not)."""
        return [o for o in self._ledger.pending_orders() if not is_stop(o)]

    def on_candle(self, symbol: str, candle: Candle) -> list[Fill]:
        """Poll the exchange for `symbol`'s pending orders and record their new trades; then
        a broker-held stop the candle reached sells the position."""
        if self._unsure:
            self.resolve_unknown()
        fills = self._poll(symbol)
        fills.extend(self._trigger_held_stop(symbol, candle))
        return fills

    def _poll(self, symbol: str) -> list[Fill]:
        mine = [o for o in self._ledger.pending_orders() if o.symbol == symbol]
        if not mine:
            return []
        open_orders = self._calls.call(self._exchange.fetch_open_orders, symbol)
        by_client_id = {o.get("clientOrderId"): o for o in open_orders}
        fills: list[Fill] = []
        for order in mine:
            seen = by_client_id.get(order.client_order_id)
            if seen is None:  # no longer open: filled, cancelled, or never placed
                seen = self._lookup(order)
                if seen is None:
                    self._ledger.reject(order.client_order_id, "not found on the exchange")
                    continue
            fills.extend(self.sync(order, seen))
        return fills

    def cancel_pending(self, side: Side | None = None, symbol: str | None = None) -> list[Order]:
        """Cancel pending orders on the exchange (of one side or all, of one symbol or all);
        trades made before the cancel are recorded. The orders cancelled."""
        chosen = [
            o
            for o in self.pending()
            if (side is None or o.side is side) and (symbol is None or o.symbol == symbol)
        ]
        return self._cancel(chosen)

    def _cancel_stops(self, symbol: str) -> None:
        self._cancel(
            [o for o in self._ledger.pending_orders() if o.symbol == symbol and is_stop(o)]
        )

    def _cancel(self, chosen: list[Order]) -> list[Order]:
        for order in chosen:
            # Filled or gone meanwhile: the lookup below tells which.
            with contextlib.suppress(ccxt.OrderNotFound):
                self._calls.call(
                    self._exchange.cancel_order,
                    None,
                    order.symbol,
                    {"clientOrderId": order.client_order_id},
                )
        cancelled = []
        for order in chosen:
            seen = self._lookup(order)
            if seen is not None:
                self.sync(order, seen)
            self._ledger.cancel(order.client_order_id)
            status = self._ledger.status(order.client_order_id)
            if status is not None and status[0] == "cancelled":
                cancelled.append(order)
        return cancelled

    # -- sending and looking up ----------------------------------------------------------------

    def _place(self, order: Order, *, look_up_first: bool) -> Mapping[str, Any]:
        """The exchange's order: adopted when the lookup finds it, else sent. A send is only
        ever repeated after a lookup that did not find it."""
        look_up = look_up_first
        for attempt in self._calls.retrying():
            with attempt:
                if look_up:
                    found = self._lookup_once(order)
                    if found is not None:
                        log.info("order %s adopted from the exchange", order.client_order_id)
                        return found
                look_up = True  # whatever happens to this send, the next try looks first
                return self._send(order)
        raise AssertionError("unreachable: tenacity reraises the last failure")

    def _send(self, order: Order) -> Mapping[str, Any]:
        exchange = self._exchange
        amount = float(exchange.amount_to_precision(order.symbol, order.quantity))
        price = None
        if order.type is OrderType.LIMIT:
            if order.limit_price is None:
                raise ccxt.InvalidOrder(f"limit order {order.client_order_id} has no price")
            price = float(exchange.price_to_precision(order.symbol, order.limit_price))
        params: Mapping[str, Any] = {"clientOrderId": order.client_order_id}
        if is_stop(order) and order.client_order_id.endswith("-sl"):
            params = stop_params(order)
        log.info("sending order %s", order.client_order_id)
        placed: Mapping[str, Any] = exchange.create_order(
            order.symbol, order.type.value, order.side.value, amount, price, params
        )
        return placed

    def fetch(self, method: Callable[..., Any], *args: Any) -> Any:
        """`method(*args)` on the exchange, faults retried (for reconciliation's bulk reads)."""
        return self._calls.call(method, *args)

    def lookup(self, order: Order) -> Mapping[str, Any] | None:
        """The exchange's order with `order`'s client id, None when it has none."""
        return self._lookup(order)

    def _lookup(self, order: Order) -> Mapping[str, Any] | None:
        """The exchange's order with our client id, None when it has none; faults retried."""
        result: Mapping[str, Any] | None = self._calls.call(self._lookup_once, order)
        return result

    def _lookup_once(self, order: Order) -> Mapping[str, Any] | None:
        try:
            found: Mapping[str, Any] = self._exchange.fetch_order(
                None, order.symbol, {"clientOrderId": order.client_order_id}
            )
        except ccxt.OrderNotFound:
            return None
        return found

    # -- recording -----------------------------------------------------------------------------

    def sync(
        self,
        order: Order,
        seen: Mapping[str, Any],
        trades: list[Mapping[str, Any]] | None = None,
    ) -> list[Fill]:
        """Record the trades of `seen` (the exchange's view of `order`) not yet recorded
        (`trades`, when the caller fetched them in bulk); close the order in the ledger when
        the exchange says it is done, and protect a filled entry with its stop."""
        fills = self._sync(order, seen, trades)
        if fills and order.side is Side.BUY and order.stop_price is not None:
            status = self._ledger.status(order.client_order_id)
            if status is not None and status[0] == "filled":
                self._protect(order)
        return fills

    def _sync(
        self,
        order: Order,
        seen: Mapping[str, Any],
        trades: list[Mapping[str, Any]] | None = None,
    ) -> list[Fill]:
        coid = order.client_order_id
        filled = float(seen.get("filled") or 0.0)
        done = str(seen.get("status")) in DONE_STATUSES
        fills: list[Fill] = []
        if filled > self._filled_seen.get(coid, 0.0):
            if trades is None:
                trades = self._calls.call(
                    self._exchange.fetch_order_trades, seen["id"], order.symbol
                )
            market = self._exchange.market(order.symbol)
            fresh = new_trades(trades, self._ledger.trade_ids(coid))
            for index, trade in enumerate(fresh):
                fill = fill_from_trade(trade, coid, market["base"], market["quote"])
                last = index == len(fresh) - 1
                stop = order.stop_price if order.side is Side.BUY else None
                closes = last and seen.get("status") == "closed"
                if self._ledger.record_trade(str(trade["id"]), fill, stop, done=closes):
                    fills.append(fill)
            self._filled_seen[coid] = filled
        if seen.get("status") == "closed":
            self._ledger.mark_filled(coid)
        elif done:
            self._ledger.cancel(coid)
        return fills

    # -- stops -------------------------------------------------------------------------------

    def _protect(self, entry: Order) -> None:
        """Rest the entry's stop on the exchange for the quantity held (if it takes stops;
        otherwise the position's stop, kept by the ledger, is checked on every candle)."""
        if not self._native_stops:
            return
        held = self._ledger.portfolio.quantity(entry.symbol)
        if held <= 0:
            return
        stop = native_stop(entry, held, self._exchange.milliseconds())
        try:
            self._send_once(stop)
        except BrokerError as exc:  # the position stays protected by the held-stop check
            self._event("stop_not_placed", f"stop {stop.client_order_id} not placed: {exc}")

    def _trigger_held_stop(self, symbol: str, candle: Candle) -> list[Fill]:
        position = self._ledger.portfolio.positions.get(symbol)
        if position is None or position.stop_loss is None or position.quantity <= 0:
            return []
        if not stop_triggered(position.stop_loss, candle.low):
            return []
        if any(is_stop(o) and o.symbol == symbol for o in self._ledger.pending_orders()):
            return []  # a native stop rests: the exchange sells, the next poll records it
        base = f"{self._ledger.account}|{symbol}|{candle.ts}"
        exit_order = held_stop_exit(
            "tg-" + hashlib.sha256(base.encode()).hexdigest()[:29],
            symbol,
            position.quantity,
            position.stop_loss,
            candle.ts,
        )
        before = len(self._ledger.fills())
        self._send_once(exit_order)
        return self._ledger.fills()[before:]

    def _event(self, kind: str, detail: str) -> None:
        self._emit(TraceEvent(ts=int(self._exchange.milliseconds()), kind=kind, detail=detail))

    def _emit(self, event: TraceEvent) -> None:
        log.info("%s: %s", event.kind, event.detail)
        if self._on_event is not None:
            self._on_event(event)
