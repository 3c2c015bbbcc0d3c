"""The Binance spot REST endpoints the fake serves, as (method, path) → handler.

Each handler takes the fake and the request's parameters (query and body merged, signature
removed) and returns the HTTP status and JSON body; a `BinanceError` becomes Binance's error body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.fake_exchange import wire
from tests.fake_exchange.book import BinanceError, client_order_id, missing

if TYPE_CHECKING:
    from tests.fake_exchange.server import FakeBinance

Params = dict[str, str]
Answer = tuple[int, Any]
Route = Callable[["FakeBinance", Params], Answer]


def _limit(p: Params, default: int, most: int) -> int:
    return min(int(p.get("limit", default)), most)


def server_time(fake: FakeBinance, p: Params) -> Answer:
    return 200, {"serverTime": fake.now()}


def ping(fake: FakeBinance, p: Params) -> Answer:
    return 200, {}


def exchange_info(fake: FakeBinance, p: Params) -> Answer:
    """The spot symbols as Binance describes them (the `info` of the recorded markets)."""
    wanted = (
        set(json.loads(p["symbols"]))
        if "symbols" in p
        else {p["symbol"]}
        if "symbol" in p
        else None
    )
    symbols = [
        m["info"] for m in fake.markets.values()
        if m.get("spot") and "info" in m and (wanted is None or m["id"] in wanted)
    ]  # fmt: skip
    return 200, _info(fake, symbols)


def no_futures(fake: FakeBinance, p: Params) -> Answer:
    """USDⓈ-M and COIN-M exchangeInfo with no symbols: the fake trades spot only."""
    return 200, _info(fake, [])


def coins(fake: FakeBinance, p: Params) -> Answer:
    """/sapi/v1/capital/config/getall, which ccxt's load_markets reads for currencies."""
    return 200, [c["info"] for c in fake.currencies.values() if "info" in c]


def no_margin(fake: FakeBinance, p: Params) -> Answer:
    """Cross and isolated margin pairs: none, the fake trades spot only."""
    return 200, []


def _info(fake: FakeBinance, symbols: list[Any]) -> dict[str, Any]:
    return {"timezone": "UTC", "serverTime": fake.now(), "rateLimits": [],
            "exchangeFilters": [], "symbols": symbols}  # fmt: skip


def klines(fake: FakeBinance, p: Params) -> Answer:
    """Paged like Binance: from startTime on, or the newest `limit` when no start is given."""
    symbol, interval = p.get("symbol"), p.get("interval")
    if not interval:
        raise missing("interval")
    fake.book.market(symbol)
    rows = fake.served_candles(symbol or "", interval)
    if "endTime" in p:
        rows = [r for r in rows if r[0] <= int(p["endTime"])]
    limit = _limit(p, 500, 1000)
    if "startTime" in p:
        return 200, [r for r in rows if r[0] >= int(p["startTime"])][:limit]
    return 200, rows[-limit:]


def ticker_price(fake: FakeBinance, p: Params) -> Answer:
    symbol = p.get("symbol")
    if symbol:
        return 200, {"symbol": symbol, "price": wire.num(fake.book.price(symbol))}
    return 200, [{"symbol": s, "price": wire.num(v)} for s, v in sorted(fake.book.prices.items())]


def ticker_24hr(fake: FakeBinance, p: Params) -> Answer:
    symbol = p.get("symbol")
    if symbol:
        return 200, wire.ticker_24hr(symbol, fake.book.price(symbol), fake.now())
    items = sorted(fake.book.prices.items())
    return 200, [wire.ticker_24hr(s, v, fake.now()) for s, v in items]


def create_order(fake: FakeBinance, p: Params) -> Answer:
    order = fake.book.place(p)
    return 200, wire.new_order(order, p.get("newOrderRespType", "FULL"))


def query_order(fake: FakeBinance, p: Params) -> Answer:
    order = fake.book.find(p.get("symbol", ""), p.get("orderId"), p.get("origClientOrderId"))
    return 200, wire.order_status(order)


def cancel_order(fake: FakeBinance, p: Params) -> Answer:
    with fake.book.lock:
        try:
            order = fake.book.find(
                p.get("symbol", ""), p.get("orderId"), p.get("origClientOrderId")
            )
        except BinanceError as error:
            if error.code == -2013:  # Binance says "Unknown order sent." when cancelling
                raise BinanceError(-2011, "Unknown order sent.") from None
            raise
        fake.book.cancel(order)
        cancel_id = p.get("newClientOrderId") or client_order_id()
        return 200, wire.canceled(order, cancel_id, fake.now())


def open_orders(fake: FakeBinance, p: Params) -> Answer:
    return 200, [wire.order_status(o) for o in fake.book.open_orders(p.get("symbol"))]


def all_orders(fake: FakeBinance, p: Params) -> Answer:
    """Every order of a symbol, oldest first, from orderId or within startTime..endTime."""
    symbol = p.get("symbol")
    fake.book.market(symbol)
    with fake.book.lock:
        chosen = [o for o in fake.book.orders.values() if o.symbol == symbol]
    if "orderId" in p:
        chosen = [o for o in chosen if o.order_id >= int(p["orderId"])]
    if "startTime" in p:
        chosen = [o for o in chosen if o.time >= int(p["startTime"])]
    if "endTime" in p:
        chosen = [o for o in chosen if o.time <= int(p["endTime"])]
    chosen.sort(key=lambda o: o.order_id)
    return 200, [wire.order_status(o) for o in chosen[: _limit(p, 500, 1000)]]


def cancel_open_orders(fake: FakeBinance, p: Params) -> Answer:
    symbol = p.get("symbol")
    if not symbol:
        raise missing("symbol")
    now = fake.now()
    return 200, [wire.canceled(o, client_order_id(), now) for o in fake.book.cancel_all(symbol)]


def my_trades(fake: FakeBinance, p: Params) -> Answer:
    symbol = p.get("symbol")
    fake.book.market(symbol)
    with fake.book.lock:
        trades = [t for t in fake.book.trades if t.symbol == symbol]
    if "orderId" in p:
        trades = [t for t in trades if t.order_id == int(p["orderId"])]
    if "fromId" in p:
        trades = [t for t in trades if t.id >= int(p["fromId"])]
    if "startTime" in p:
        trades = [t for t in trades if t.time >= int(p["startTime"])]
    if "endTime" in p:
        trades = [t for t in trades if t.time <= int(p["endTime"])]
    return 200, [wire.trade(t) for t in trades[: _limit(p, 500, 1000)]]


def account(fake: FakeBinance, p: Params) -> Answer:
    with fake.book.lock:
        return 200, wire.account(fake.book, fake.now(), p.get("omitZeroBalances") == "true")


PUBLIC: dict[tuple[str, str], Route] = {
    ("GET", "/api/v3/ping"): ping,
    ("GET", "/api/v3/time"): server_time,
    ("GET", "/api/v3/exchangeInfo"): exchange_info,
    ("GET", "/fapi/v1/exchangeInfo"): no_futures,
    ("GET", "/dapi/v1/exchangeInfo"): no_futures,
    ("GET", "/api/v3/klines"): klines,
    ("GET", "/api/v3/ticker/price"): ticker_price,
    ("GET", "/api/v3/ticker/24hr"): ticker_24hr,
}

SIGNED: dict[tuple[str, str], Route] = {
    ("POST", "/api/v3/order"): create_order,
    ("GET", "/api/v3/order"): query_order,
    ("DELETE", "/api/v3/order"): cancel_order,
    ("GET", "/api/v3/openOrders"): open_orders,
    ("GET", "/api/v3/allOrders"): all_orders,
    ("DELETE", "/api/v3/openOrders"): cancel_open_orders,
    ("GET", "/api/v3/myTrades"): my_trades,
    ("GET", "/api/v3/account"): account,
    ("GET", "/sapi/v1/capital/config/getall"): coins,
    ("GET", "/sapi/v1/margin/allPairs"): no_margin,
    ("GET", "/sapi/v1/margin/isolated/allPairs"): no_margin,
}
