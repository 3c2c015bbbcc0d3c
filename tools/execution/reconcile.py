"""Reconciling the ledger with the exchange: on start, and after an order's outcome was lost.

The exchange is the truth about money; the ledger is the truth about what tradegraph decided.
Reconciliation brings the ledger to the exchange, in bulk (one open-orders, one orders and one
trades request per symbol, so a thousand orders cost a handful of requests), and reports each
correction as a trace event:
- an order the ledger holds as pending is settled by what the exchange did with it (its trades
  recorded, by trade id, once), or marked rejected when the exchange never received it;
- an order the exchange has for the account that the ledger does not know (placed by hand, or
  by another tool) is adopted and marked external, with its trades;
- a position the ledger holds that the exchange no longer does (sold outside tradegraph) is
  closed in the ledger at the market price, with the reason.
Holdings the exchange has beyond the ledger's are left alone: tradegraph trades only what it
bought, as freqtrade does.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.types import Fill, Order, OrderType, Side, TraceEvent
from tools.execution.ccxt_broker import CcxtBroker

EXTERNAL = "external: adopted from the exchange by reconciliation"
LOOKBACK_MS = 7 * 86_400_000
"""How far back reconciliation reads orders and trades when the ledger has nothing pending."""
PAGE = 1000
"""Orders or trades per request (Binance's most)."""


def reconcile(broker: CcxtBroker, symbols: Iterable[str], now_ms: int) -> list[TraceEvent]:
    """Bring the ledger of `broker`'s account to what the exchange holds for `symbols`; the
    corrections made, as trace events."""
    events: list[TraceEvent] = []
    for symbol in symbols:
        events.extend(_reconcile_symbol(broker, symbol, now_ms))
    events.extend(_close_vanished_positions(broker, symbols, now_ms))
    return events


def _reconcile_symbol(broker: CcxtBroker, symbol: str, now_ms: int) -> list[TraceEvent]:
    exchange, ledger = broker.exchange, broker.ledger
    pending = [o for o in ledger.pending_orders() if o.symbol == symbol]
    since = min((o.created_ms for o in pending), default=now_ms - LOOKBACK_MS) - 60_000
    seen = _by_client_id(_paged(broker, exchange.fetch_orders, symbol, since))
    seen.update(_by_client_id(broker.fetch(exchange.fetch_open_orders, symbol)))
    trades = _by_order(_paged(broker, exchange.fetch_my_trades, symbol, since))
    events: list[TraceEvent] = []
    for order in pending:
        found = seen.pop(order.client_order_id, None) or broker.lookup(order)
        if found is None:
            ledger.reject(order.client_order_id, "not found on the exchange")
            detail = f"{order.client_order_id}: never reached the exchange, marked rejected"
            events.append(_event(now_ms, "order_not_found", detail, order.client_order_id))
            continue
        fills = broker.sync(order, found, trades.get(str(found.get("id"))))
        if fills:
            events.append(
                _event(now_ms, "order_settled", _settled(order, fills), order.client_order_id)
            )
    for client_id, found in seen.items():
        if ledger.status(client_id) is not None:
            continue  # known and settled already
        adopted = _adopt(broker, client_id, found)
        if adopted is None:
            continue
        fills = broker.sync(adopted, found, trades.get(str(found.get("id"))))
        detail = (
            f"{client_id}: {adopted.side.value} {adopted.quantity:g} {symbol} placed outside "
            f"tradegraph, adopted as external ({len(fills)} fills)"
        )
        events.append(_event(now_ms, "order_adopted", detail, client_id))
    return events


def _adopt(broker: CcxtBroker, client_id: str, found: Mapping[str, Any]) -> Order | None:
    """The ledger's record of an order the exchange has and the ledger did not."""
    amount = float(found.get("amount") or 0.0)
    price = float(found.get("price") or found.get("average") or found.get("stopPrice") or 0.0)
    untouched = str(found.get("status")) in ("canceled", "cancelled") and not found.get("filled")
    if amount <= 0 or price <= 0 or untouched:
        return None  # nothing happened to money: nothing to adopt
    limit = found.get("type") == "limit"
    order = Order(
        client_order_id=client_id,
        symbol=str(found["symbol"]),
        side=Side(found["side"]),
        type=OrderType.LIMIT if limit else OrderType.MARKET,
        quantity=amount,
        reference_price=price,
        limit_price=price if limit else None,
        created_ms=int(found.get("timestamp") or 0),
    )
    broker.ledger.record_order(order)
    broker.ledger.note(client_id, EXTERNAL)
    return order


def _close_vanished_positions(
    broker: CcxtBroker, symbols: Iterable[str], now_ms: int
) -> list[TraceEvent]:
    exchange, ledger = broker.exchange, broker.ledger
    positions = {s: p for s, p in ledger.portfolio.positions.items() if s in set(symbols)}
    if not positions:
        return []
    balance = broker.fetch(exchange.fetch_balance)
    events = []
    for symbol, position in positions.items():
        base = exchange.market(symbol)["base"]
        held = float((balance.get(base) or {}).get("total") or 0.0)
        missing = position.quantity - held
        if missing <= max(1e-12, position.quantity * 1e-9):
            continue
        price = float(broker.fetch(exchange.fetch_ticker, symbol)["last"])
        digest = hashlib.sha256(f"{ledger.account}|{symbol}|{now_ms}".encode()).hexdigest()
        order = Order(
            client_order_id=f"rc-{digest[:29]}",
            symbol=symbol,
            side=Side.SELL,
            type=OrderType.MARKET,
            quantity=missing,
            reference_price=price,
            created_ms=now_ms,
        )
        reason = (
            f"reconciliation: the ledger held {position.quantity:g} {base}, the exchange "
            f"{held:g}; {missing:g} closed at {price:g}"
        )
        ledger.record_order(order)
        ledger.note(order.client_order_id, reason)
        ledger.record_fill(
            Fill(
                client_order_id=order.client_order_id,
                symbol=symbol,
                side=Side.SELL,
                quantity=missing,
                price=price,
                fee=0.0,
                ts=now_ms,
            )
        )
        events.append(
            _event(now_ms, "position_closed", f"{symbol}: {reason}", order.client_order_id)
        )
    return events


def _paged(
    broker: CcxtBroker, method: Callable[..., Any], symbol: str, since: int
) -> list[Mapping[str, Any]]:
    """Every item from `since` on, a page of PAGE at a time (each item once, by id)."""
    found: dict[str, Mapping[str, Any]] = {}
    while True:
        page = broker.fetch(method, symbol, since, PAGE)
        fresh = [item for item in page if str(item["id"]) not in found]
        found.update((str(item["id"]), item) for item in fresh)
        if len(page) < PAGE or not fresh:
            return list(found.values())
        since = max(int(item["timestamp"]) for item in page)


def _by_client_id(orders: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(o["clientOrderId"]): o for o in orders if o.get("clientOrderId")}


def _by_order(trades: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for trade in trades:
        grouped[str(trade.get("order"))].append(trade)
    return grouped


def _settled(order: Order, fills: list[Fill]) -> str:
    quantity = sum(f.quantity for f in fills)
    return (
        f"{order.client_order_id}: {len(fills)} fills ({quantity:g} {order.symbol}) made while "
        "tradegraph was away, recorded"
    )


def _event(ts: int, kind: str, detail: str, client_order_id: str) -> TraceEvent:
    return TraceEvent(ts=ts, kind=kind, detail=detail, client_order_id=client_order_id)
