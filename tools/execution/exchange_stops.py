"""Stop-losses on an exchange: native where it takes them, else held by the broker.

The validator approves a stop with each entry. Once the entry has filled, the broker protects
the position with that stop: as an exchange-native stop-limit order (ccxt's unified
`stopLossPrice`) when the exchange supports one, so the stop holds even while this process is
down; otherwise
the broker holds it and sells at market on the first candle whose low reaches it (as the paper
broker does). Stops are the broker's own orders: they are not the validator's open orders, and
a sell of the position cancels them first (the exchange locks the amount a stop would sell).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.types import Order, OrderType, Side

NATIVE_SUFFIX = "-sl"
"""A native stop's client id: its entry's, plus this (35 characters: within Binance's 36)."""
STOP_LIMIT_SLACK = 0.01
"""A native stop is a stop-limit (every spot exchange that takes stops takes those) whose
limit sits this far below the trigger, so a fast market still fills it."""
HELD_SUFFIX = "-sx"
"""The market sell a broker-held stop sends when it triggers."""


def supports_native_stops(exchange: Any) -> bool:
    return bool(exchange.has.get("createStopLossOrder"))


def is_stop(order: Order) -> bool:
    return order.client_order_id.endswith((NATIVE_SUFFIX, HELD_SUFFIX))


def native_stop(entry: Order, quantity: float, ts: int) -> Order:
    """The stop-limit order protecting what `entry` bought."""
    assert entry.stop_price is not None
    return Order(
        client_order_id=entry.client_order_id + NATIVE_SUFFIX,
        symbol=entry.symbol,
        side=Side.SELL,
        type=OrderType.LIMIT,
        quantity=quantity,
        reference_price=entry.stop_price,
        limit_price=entry.stop_price * (1 - STOP_LIMIT_SLACK),
        stop_price=entry.stop_price,
        created_ms=ts,
    )


def held_stop_exit(entry_id: str, symbol: str, quantity: float, stop: float, ts: int) -> Order:
    """The market sell of a position whose broker-held stop the candle at `ts` reached."""
    return Order(
        client_order_id=entry_id + HELD_SUFFIX,
        symbol=symbol,
        side=Side.SELL,
        type=OrderType.MARKET,
        quantity=quantity,
        reference_price=stop,
        stop_price=stop,
        created_ms=ts,
    )


def stop_params(order: Order) -> Mapping[str, Any]:
    """ccxt's unified parameters for a stop-limit sell (Binance: type STOP_LOSS_LIMIT)."""
    return {"stopLossPrice": order.stop_price, "clientOrderId": order.client_order_id}
