"""A real ccxt binance trades on the fake exchange: orders, state, and each injected fault."""

from __future__ import annotations

import json
from decimal import Decimal

import ccxt
import pytest

from tests.fake_exchange.book import BinanceError, Book, Market
from tests.fake_exchange.client import point_at
from tests.fake_exchange.plugin import FIXTURES, recorded_markets
from tests.fake_exchange.server import FakeBinance, FaultKind, Lost

BTC = "BTC/USDT"


def test_market_buy_parses_to_a_closed_order_with_its_fill_and_fee(fake_binance):
    exchange = fake_binance.ccxt()
    order = exchange.create_order(BTC, "market", "buy", 0.01)
    assert order["status"] == "closed"
    assert (order["filled"], order["remaining"], order["average"]) == (0.01, 0.0, 30000.0)
    assert order["cost"] == 300.0
    assert order["fee"] == {"currency": "BTC", "cost": 0.00001}
    assert fake_binance.balance("USDT") == (Decimal("9700"), 0)
    assert fake_binance.balance("BTC") == (Decimal("0.50999"), 0)


def test_limit_buy_rests_and_locks_quote_until_the_price_reaches_it(fake_binance):
    exchange = fake_binance.ccxt()
    order = exchange.create_order(BTC, "limit", "buy", 0.1, 29000)
    assert order["status"] == "open" and order["filled"] == 0.0
    assert fake_binance.balance("USDT") == (Decimal("7100"), Decimal("2900"))
    fake_binance.set_price(BTC, "29000.01")
    assert exchange.fetch_order(order["id"], BTC)["status"] == "open"
    fake_binance.set_price(BTC, "28950")
    filled = exchange.fetch_order(order["id"], BTC)
    assert (filled["status"], filled["filled"], filled["average"]) == ("closed", 0.1, 29000.0)
    assert fake_binance.balance("USDT") == (Decimal("7100"), 0)


def test_a_marketable_limit_order_fills_at_once_at_the_current_price(fake_binance):
    order = fake_binance.ccxt().create_order(BTC, "limit", "buy", 0.01, 31000)
    assert (order["status"], order["average"]) == ("closed", 30000.0)


def test_fetch_order_by_client_id_finds_the_order(fake_binance):
    exchange = fake_binance.ccxt()
    exchange.create_order(BTC, "limit", "sell", 0.2, 35000, {"clientOrderId": "tg-sell-1"})
    found = exchange.fetch_order(None, BTC, {"clientOrderId": "tg-sell-1"})
    assert (found["clientOrderId"], found["side"], found["amount"]) == ("tg-sell-1", "sell", 0.2)
    assert fake_binance.requests[-1].params["origClientOrderId"] == "tg-sell-1"
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order(None, BTC, {"clientOrderId": "never-sent"})


def test_a_duplicate_client_id_of_a_live_order_is_rejected_as_invalid_order(fake_binance):
    exchange = fake_binance.ccxt()
    exchange.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": "tg-1"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        exchange.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": "tg-1"})
    assert len(exchange.fetch_open_orders(BTC)) == 1
    assert fake_binance.client_order_ids() == ["tg-1", "tg-1"]


def test_open_orders_cancel_one_and_cancel_all(fake_binance):
    exchange = fake_binance.ccxt()
    ids = [exchange.create_order(BTC, "limit", "buy", 0.01, p)["id"] for p in (20000, 21000, 22000)]
    assert sorted(o["id"] for o in exchange.fetch_open_orders(BTC)) == sorted(ids)
    assert exchange.cancel_order(ids[0], BTC)["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(ids[0], BTC)
    cancelled = exchange.cancel_all_orders(BTC)
    assert sorted(o["id"] for o in cancelled) == sorted(ids[1:])
    assert {o["status"] for o in cancelled} == {"canceled"}
    assert exchange.fetch_open_orders(BTC) == []
    assert fake_binance.balance("USDT") == (Decimal("10000"), 0)


def test_my_trades_and_balance_parse(fake_binance):
    exchange = fake_binance.ccxt()
    bought = exchange.create_order(BTC, "market", "buy", 0.02)
    exchange.create_order(BTC, "market", "sell", 0.01)
    buy, sell = exchange.fetch_my_trades(BTC)
    assert (buy["order"], buy["side"], buy["amount"], buy["price"]) == (
        bought["id"],
        "buy",
        0.02,
        30000.0,
    )
    assert buy["fee"] == {"currency": "BTC", "cost": 0.00002}
    assert (sell["side"], sell["cost"], sell["fee"]["currency"]) == ("sell", 300.0, "USDT")
    balance = exchange.fetch_balance()
    assert balance["BTC"]["free"] == pytest.approx(0.50998)
    assert balance["USDT"]["total"] == pytest.approx(10000 - 600 + 300 - 0.3)


def test_partial_fills_accumulate_exactly(fake_binance):
    exchange = fake_binance.ccxt()
    order = exchange.create_order(BTC, "limit", "buy", 0.3, 29000, {"clientOrderId": "tg-part"})
    for _ in range(3):
        fake_binance.fill("tg-part", fraction="0.1")
    seen = exchange.fetch_order(order["id"], BTC)
    assert (seen["status"], seen["filled"], seen["remaining"]) == ("open", 0.09, 0.21)
    assert fake_binance.order("tg-part").executed_qty == Decimal("0.09")
    fake_binance.fill("tg-part", "0.21")
    done = exchange.fetch_order(order["id"], BTC)
    assert (done["status"], done["filled"], done["cost"]) == ("closed", 0.3, 8700.0)
    assert len(exchange.fetch_my_trades(BTC)) == 4
    assert fake_binance.balance("USDT") == (Decimal("1300"), 0)


def test_a_stop_loss_limit_sell_triggers_when_the_price_falls_to_its_stop(fake_binance):
    exchange = fake_binance.ccxt()
    order = exchange.create_order(BTC, "limit", "sell", 0.1, 27900, {"triggerPrice": 28000})
    assert fake_binance.order(int(order["id"])).type == "STOP_LOSS_LIMIT"
    fake_binance.set_price(BTC, "28500")
    assert exchange.fetch_order(order["id"], BTC)["status"] == "open"
    fake_binance.set_price(BTC, "27950")
    done = exchange.fetch_order(order["id"], BTC)
    assert (done["status"], done["average"], done["triggerPrice"]) == ("closed", 27950.0, 28000.0)


def test_candles_are_paged_like_binance_and_advance_moves_the_price(fake_binance):
    hour = 3_600_000
    rows = [(hour * i, 100 + i, 101 + i, 99 + i, 100.5 + i, 10) for i in range(10)]
    fake_binance.set_candles(BTC, "1h", rows, served=6)
    exchange = fake_binance.ccxt()
    page = exchange.fetch_ohlcv(BTC, "1h", since=2 * hour, limit=3)
    assert [c[0] for c in page] == [2 * hour, 3 * hour, 4 * hour]
    assert [c[0] for c in exchange.fetch_ohlcv(BTC, "1h", since=0, limit=100)][-1] == 5 * hour
    assert exchange.fetch_ticker(BTC)["last"] == 105.5
    fake_binance.advance(BTC, "1h", 2)
    assert exchange.fetch_ohlcv(BTC, "1h", limit=2)[-1][0] == 7 * hour
    assert exchange.fetch_ticker(BTC)["last"] == 107.5


def test_real_rejects_map_to_ccxt_exceptions(fake_binance):
    exchange = fake_binance.ccxt()
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order(BTC, "market", "buy", 1)  # 30000 USDT needed, 10000 held
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order(BTC, "limit", "sell", 0.6, 31000)  # 0.5 BTC held
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
        exchange.create_order(BTC, "limit", "buy", 0.0001, 30000)  # 3 USDT < 5


def test_a_bad_signature_or_key_is_refused(fake_binance):
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        fake_binance.ccxt(secret="not-the-secret").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        fake_binance.ccxt(apiKey="someone-else").fetch_balance()
    assert fake_binance.book.orders == {}


@pytest.mark.parametrize(
    ("kind", "options", "raised"),
    [
        (FaultKind.TIMEOUT, {}, ccxt.RequestTimeout),
        (FaultKind.DROP, {}, ccxt.NetworkError),
        (FaultKind.RATE_LIMIT, {"retry_after": 7}, ccxt.DDoSProtection),
        (FaultKind.UNAVAILABLE, {"status": 503}, ccxt.ExchangeNotAvailable),
        (FaultKind.UNAVAILABLE, {"status": 502}, ccxt.ExchangeNotAvailable),
        (FaultKind.INSUFFICIENT_FUNDS, {}, ccxt.InsufficientFunds),
        (FaultKind.FILTER_FAILURE, {}, ccxt.InvalidOrder),
    ],
)
def test_an_injected_fault_surfaces_as_its_ccxt_exception_and_stores_no_order(
    fake_binance, kind, options, raised
):
    exchange = fake_binance.ccxt(timeout=300)
    fake_binance.fail_next(kind, method="POST", path="/api/v3/order", **options)
    with pytest.raises(raised):
        exchange.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "tg-f"})
    assert fake_binance.book.orders == {}
    assert fake_binance.requests[-1].fault == kind
    if kind == FaultKind.RATE_LIMIT:
        assert exchange.last_response_headers["Retry-After"] == "7"
    assert exchange.create_order(BTC, "market", "buy", 0.01)["status"] == "closed"  # one only


def test_a_fault_for_one_endpoint_leaves_the_others_alone(fake_binance):
    exchange = fake_binance.ccxt()
    fake_binance.fail_next(FaultKind.UNAVAILABLE, path="/api/v3/account", times=2)
    assert exchange.create_order(BTC, "market", "buy", 0.01)["status"] == "closed"
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            exchange.fetch_balance()
    assert exchange.fetch_balance()["BTC"]["free"] == pytest.approx(0.50999)


@pytest.mark.parametrize(
    ("lost", "raised"),
    [
        (Lost.TIMEOUT, ccxt.RequestTimeout),
        (Lost.DROP, ccxt.NetworkError),
        (Lost.BACKEND, ccxt.RequestTimeout),  # 503 with -1007 "execution status unknown"
    ],
)
def test_an_order_of_unknown_outcome_is_found_afterwards_by_client_id(fake_binance, lost, raised):
    exchange = fake_binance.ccxt(timeout=300)
    fake_binance.fail_next(
        FaultKind.UNKNOWN_OUTCOME, path="/api/v3/order", method="POST", lost=lost
    )
    with pytest.raises(raised):
        exchange.create_order(BTC, "limit", "buy", 0.01, 29000, {"clientOrderId": "tg-unknown"})
    found = exchange.fetch_order(None, BTC, {"clientOrderId": "tg-unknown"})
    assert (found["status"], found["amount"], found["price"]) == ("open", 0.01, 29000.0)
    assert fake_binance.client_order_ids() == ["tg-unknown"]


def test_the_request_log_shows_every_client_id_sent_once(fake_binance):
    exchange = fake_binance.ccxt()
    for _ in range(3):
        exchange.create_order(BTC, "market", "buy", 0.001)
    exchange.fetch_open_orders(BTC)
    sent = fake_binance.client_order_ids()
    assert len(sent) == len(set(sent)) == 3
    assert all(i.startswith("x-") for i in sent)  # ccxt's generated broker ids
    assert [(r.method, r.path) for r in fake_binance.requests][-1] == ("GET", "/api/v3/openOrders")
    assert {r.api_key for r in fake_binance.requests} == {fake_binance.api_key}


def test_the_server_listens_on_loopback_only(fake_binance: FakeBinance):
    assert fake_binance.url.startswith("http://127.0.0.1:")
    urls = fake_binance.ccxt().urls["api"]
    assert all(u.startswith(fake_binance.url) for u in urls.values() if isinstance(u, str))


RESPONSES = FIXTURES / "response" / "binance.json"


@pytest.mark.skipif(not RESPONSES.is_file(), reason=f"{RESPONSES} is absent")
@pytest.mark.parametrize(
    ("method", "case", "call", "unrecorded"),
    [
        (
            "createOrder",
            0,
            lambda e: e.create_order(BTC, "limit", "buy", 0.01, 29000),
            {"icebergQty"},
        ),
        ("fetchOrder", 0, lambda e: e.fetch_order(e.fetch_open_orders(BTC)[0]["id"], BTC), set()),
        ("fetchOpenOrders", 0, lambda e: e.fetch_open_orders(BTC), set()),
        ("fetchMyTrades", 0, lambda e: e.fetch_my_trades(BTC), set()),
        ("fetchBalance", 0, lambda e: e.fetch_balance(), set()),
        ("fetchTicker", 0, lambda e: e.fetch_ticker(BTC), set()),
    ],
)
def test_answers_have_the_fields_of_binances_recorded_answers(
    fake_binance, method, case, call, unrecorded
):
    exchange = fake_binance.ccxt(enableLastJsonResponse=True)
    exchange.create_order(BTC, "market", "buy", 0.01)
    exchange.create_order(BTC, "limit", "buy", 0.01, 28000)
    call(exchange)
    recorded = json.loads(RESPONSES.read_text())["methods"][method][case]["httpResponse"]
    served = exchange.last_json_response
    if isinstance(recorded, list):
        recorded, served = recorded[0], served[0]
    assert set(served) == set(recorded) - unrecorded


def test_load_markets_reads_the_served_exchange_info_as_live_ccxt_does(fake_binance):
    exchange = fake_binance.ccxt()
    preset = exchange.market(BTC)
    loaded = exchange.load_markets(reload=True)[BTC]
    assert loaded["precision"] == preset["precision"] == {
        "amount": 1e-05, "price": 0.01, "base": 1e-08, "quote": 1e-08
    }  # fmt: skip
    assert loaded["limits"]["cost"]["min"] == preset["limits"]["cost"]["min"] == 5.0
    assert "BTC" in exchange.currencies


def test_a_fresh_ccxt_object_in_sandbox_mode_can_be_pointed_at_the_fake(fake_binance):
    exchange = ccxt.binance({"apiKey": fake_binance.api_key, "secret": fake_binance.secret})
    exchange.set_sandbox_mode(True)
    point_at(exchange, fake_binance.url, fake_binance.markets)
    assert exchange.create_order(BTC, "market", "sell", 0.1)["status"] == "closed"
    assert fake_binance.balance("USDT") == (Decimal("12997"), 0)  # 3000 less 0.1 % fee


def test_a_post_only_order_that_would_take_is_rejected_and_one_that_rests_fills_as_maker(
    fake_binance,
):
    exchange = fake_binance.ccxt()
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        exchange.create_order(BTC, "limit", "buy", 0.01, 30500, {"postOnly": True})
    order = exchange.create_order(BTC, "limit", "buy", 0.01, 29500, {"postOnly": True})
    fake_binance.set_price(BTC, "29400")
    (trade,) = exchange.fetch_my_trades(BTC)
    assert (trade["order"], trade["takerOrMaker"], trade["price"]) == (order["id"], "maker", 29500)


def test_a_stop_market_sell_fills_at_the_price_that_triggered_it():
    """Through the book: Binance (and so ccxt) allows no STOP_LOSS on BTCUSDT."""
    book = Book([Market("XUSDT", "X", "USDT")], {"X": "1", "USDT": "0"})
    book.set_price("XUSDT", Decimal(30))
    sell = {"symbol": "XUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.5"}
    order = book.place(sell | {"stopPrice": "28"})
    assert (order.status, book.balance("X")) == ("NEW", (Decimal("0.5"), Decimal("0.5")))
    book.set_price("XUSDT", Decimal(27))
    assert (order.status, order.fills[0].price) == ("FILLED", Decimal(27))
    assert book.balance("USDT") == (Decimal("13.4865"), 0)  # 13.5 less 0.1 %
    with pytest.raises(BinanceError, match="-1014"):
        Book([Market.from_ccxt(recorded_markets()[BTC])]).place(sell | {"symbol": "BTCUSDT"})


def test_a_market_order_before_any_price_is_a_visible_test_error(fake_binance):
    fake_binance.book.prices.clear()
    with pytest.raises(ccxt.ExchangeNotAvailable):
        fake_binance.ccxt().create_order(BTC, "market", "buy", 0.01)
    assert "call set_price" in fake_binance.errors[0]
