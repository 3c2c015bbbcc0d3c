"""Binance spot JSON bodies built from the fake's state.

Field names and order follow the `httpResponse` templates of ccxt's recorded binance responses
(../shared/fixtures/ccxt/response/binance.json) and Binance's API documentation; numbers are
typed as Binance sends them (ids and times as integers, amounts as eight-decimal strings), so
ccxt parses them through the same code paths as live answers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.fake_exchange.book import Book, Order, Trade

STP = "EXPIRE_MAKER"


def num(value: Decimal) -> str:
    """Binance prints amounts with eight decimals."""
    return f"{value:.8f}"


def _stop(order: Order) -> dict[str, Any]:
    return {"stopPrice": num(order.stop_price)} if order.type.startswith("STOP_LOSS") else {}


def _working_time(order: Order) -> int:
    return order.time if order.triggered else -1


def new_order(order: Order, response_type: str) -> dict[str, Any]:
    """The answer to POST /api/v3/order for newOrderRespType ACK, RESULT or FULL."""
    head: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_id,
        "transactTime": order.time,
    }
    if response_type == "ACK":
        return head
    result = head | {
        "price": num(order.price),
        "origQty": num(order.orig_qty),
        "executedQty": num(order.executed_qty),
        "origQuoteOrderQty": num(Decimal(0)),
        "cummulativeQuoteQty": num(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        **_stop(order),
        "workingTime": _working_time(order),
        "selfTradePreventionMode": STP,
    }
    if response_type == "FULL":
        result["fills"] = [
            {
                "price": num(f.price),
                "qty": num(f.qty),
                "commission": num(f.commission),
                "commissionAsset": f.commission_asset,
                "tradeId": f.trade_id,
            }
            for f in order.fills
        ]
    return result


def order_status(order: Order) -> dict[str, Any]:
    """An order as GET /api/v3/order and /openOrders show it."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_id,
        "price": num(order.price),
        "origQty": num(order.orig_qty),
        "executedQty": num(order.executed_qty),
        "cummulativeQuoteQty": num(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "stopPrice": num(order.stop_price),
        "icebergQty": num(Decimal(0)),
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": order.triggered,
        "workingTime": _working_time(order),
        "origQuoteOrderQty": num(Decimal(0)),
        "selfTradePreventionMode": STP,
    }


def canceled(order: Order, cancel_client_id: str, now: int) -> dict[str, Any]:
    """The answer to DELETE /api/v3/order (one element of DELETE /openOrders)."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_client_id,
        "transactTime": now,
        "price": num(order.price),
        "origQty": num(order.orig_qty),
        "executedQty": num(order.executed_qty),
        "cummulativeQuoteQty": num(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        **_stop(order),
        "selfTradePreventionMode": STP,
    }


def trade(t: Trade) -> dict[str, Any]:
    """One element of GET /api/v3/myTrades."""
    return {
        "symbol": t.symbol,
        "id": t.id,
        "orderId": t.order_id,
        "orderListId": -1,
        "price": num(t.price),
        "qty": num(t.qty),
        "quoteQty": num(t.price * t.qty),
        "commission": num(t.commission),
        "commissionAsset": t.commission_asset,
        "time": t.time,
        "isBuyer": t.is_buyer,
        "isMaker": t.is_maker,
        "isBestMatch": True,
    }


def account(book: Book, now: int, omit_zero: bool) -> dict[str, Any]:
    """GET /api/v3/account."""
    assets = sorted(set(book.free) | set(book.locked))
    balances = [
        {"asset": a, "free": num(book.free.get(a, Decimal(0))),
         "locked": num(book.locked.get(a, Decimal(0)))}
        for a in assets
    ]  # fmt: skip
    if omit_zero:
        balances = [b for b in balances if Decimal(b["free"]) or Decimal(b["locked"])]
    return {
        "makerCommission": int(book.maker_fee * 10_000),
        "takerCommission": int(book.taker_fee * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": num(book.maker_fee),
            "taker": num(book.taker_fee),
            "buyer": num(Decimal(0)),
            "seller": num(Decimal(0)),
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": 365859102,
    }


def ticker_24hr(symbol: str, price: Decimal, now: int) -> dict[str, Any]:
    """GET /api/v3/ticker/24hr for one symbol; the fake has no book, so bid = ask = last."""
    last = num(price)
    return {
        "symbol": symbol, "priceChange": num(Decimal(0)), "priceChangePercent": "0.000",
        "weightedAvgPrice": last, "prevClosePrice": last, "lastPrice": last,
        "lastQty": num(Decimal(0)), "bidPrice": last, "bidQty": num(Decimal(0)),
        "askPrice": last, "askQty": num(Decimal(0)), "openPrice": last, "highPrice": last,
        "lowPrice": last, "volume": num(Decimal(0)), "quoteVolume": num(Decimal(0)),
        "openTime": now - 86_400_000, "closeTime": now, "firstId": -1, "lastId": -1,
        "count": 0,
    }  # fmt: skip
