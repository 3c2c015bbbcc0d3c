"""Order state of the fake Binance spot exchange: balances, orders, fills and trades.

Kept apart from HTTP so the matching rules can be read on their own. Amounts are `Decimal`, so
partial fills add up exactly, as Binance's own eight-decimal figures do. Errors are raised as
`BinanceError` carrying Binance's HTTP status, code and message, which the server sends verbatim
so that ccxt maps them to its exception classes as it does online.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
LIVE = ("NEW", "PARTIALLY_FILLED")
ORDER_TYPES = ("MARKET", "LIMIT", "LIMIT_MAKER", "STOP_LOSS", "STOP_LOSS_LIMIT")

INSUFFICIENT = "Account has insufficient balance for requested action."
DUPLICATE = "Duplicate order sent."
NO_SUCH_ORDER = "Order does not exist."
UNKNOWN_ORDER = "Unknown order sent."


class BinanceError(Exception):
    """An error answer: HTTP status plus Binance's `{"code": ..., "msg": ...}`."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.code, self.msg, self.status = code, msg, status


def missing(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


@dataclass(frozen=True)
class Market:
    """A spot symbol and the filters Binance checks orders against (from exchangeInfo)."""

    id: str
    base: str
    quote: str
    tick: Decimal = ZERO
    step: Decimal = ZERO
    min_qty: Decimal = ZERO
    min_notional: Decimal = ZERO
    order_types: tuple[str, ...] = ORDER_TYPES

    @classmethod
    def from_ccxt(cls, market: Mapping[str, Any]) -> Market:
        """From one entry of a ccxt markets dictionary (its `info` is Binance's exchangeInfo)."""
        filters = {f["filterType"]: f for f in market.get("info", {}).get("filters", [])}
        price = filters.get("PRICE_FILTER", {})
        lot = filters.get("LOT_SIZE", {})
        notional = filters.get("NOTIONAL", filters.get("MIN_NOTIONAL", {}))
        return cls(
            id=market["id"],
            base=market["baseId"],
            quote=market["quoteId"],
            tick=Decimal(price.get("tickSize", "0")),
            step=Decimal(lot.get("stepSize", "0")),
            min_qty=Decimal(lot.get("minQty", "0")),
            min_notional=Decimal(notional.get("minNotional", "0")),
            order_types=tuple(market.get("info", {}).get("orderTypes", ORDER_TYPES)),
        )


@dataclass
class Fill:
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    trade_id: int


@dataclass
class Order:
    symbol: str
    order_id: int
    client_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    stop_price: Decimal
    orig_qty: Decimal
    time: int
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    status: str = "NEW"
    update_time: int = 0
    triggered: bool = True
    fills: list[Fill] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def live(self) -> bool:
        return self.status in LIVE


@dataclass
class Trade:
    id: int
    symbol: str
    order_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


def client_order_id() -> str:
    """A random id like the ones Binance assigns when the client sends none."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))


class Book:
    """Balances, orders and trades of one account; every public method holds the lock."""

    def __init__(
        self,
        markets: Iterable[Market],
        balances: Mapping[str, Decimal | str | float] | None = None,
        *,
        taker_fee: Decimal = Decimal("0.001"),
        maker_fee: Decimal = Decimal("0.001"),
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.lock = threading.RLock()
        self.markets = {m.id: m for m in markets}
        self.free: dict[str, Decimal] = {k: Decimal(str(v)) for k, v in (balances or {}).items()}
        self.locked: dict[str, Decimal] = {}
        self.prices: dict[str, Decimal] = {}
        self.taker_fee, self.maker_fee, self.clock = taker_fee, maker_fee, clock
        self.orders: dict[int, Order] = {}
        self.by_client: dict[str, int] = {}
        self.trades: list[Trade] = []
        self._next_order, self._next_trade = 1_000_001, 5_000_001

    # -- queries ------------------------------------------------------------------------------

    def market(self, symbol: str | None) -> Market:
        if not symbol:
            raise missing("symbol")
        if symbol not in self.markets:
            raise BinanceError(-1121, "Invalid symbol.")
        return self.markets[symbol]

    def price(self, symbol: str) -> Decimal:
        if symbol not in self.prices:
            raise AssertionError(f"fake binance: no price set for {symbol}; call set_price")
        return self.prices[symbol]

    def find(self, symbol: str, order_id: str | None, client_id: str | None) -> Order:
        """By orderId or origClientOrderId (the newest order with that client id)."""
        with self.lock:
            self.market(symbol)
            if order_id is None and client_id is None:
                raise BinanceError(
                    -1102,
                    "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                    "empty/null!",
                )
            key = int(order_id) if order_id is not None else self.by_client.get(client_id or "")
            order = self.orders.get(key) if key is not None else None
            if order is None or order.symbol != symbol:
                raise BinanceError(-2013, NO_SUCH_ORDER)
            if client_id is not None and order.client_id != client_id:
                raise BinanceError(-2013, NO_SUCH_ORDER)
            return order

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self.lock:
            if symbol is not None:
                self.market(symbol)
            return [o for o in self.orders.values() if o.live and symbol in (None, o.symbol)]

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        """(free, locked) of an asset."""
        with self.lock:
            return self.free.get(asset, ZERO), self.locked.get(asset, ZERO)

    # -- orders -------------------------------------------------------------------------------

    def place(self, p: Mapping[str, str]) -> Order:
        """Validates and stores a new order, filling what the current price allows."""
        with self.lock:
            market = self.market(p.get("symbol"))
            side, kind = p.get("side", ""), p.get("type", "")
            if side not in ("BUY", "SELL"):
                raise missing("side") if not side else BinanceError(-1117, "Invalid side.")
            if kind not in ORDER_TYPES:
                raise missing("type") if not kind else BinanceError(-1116, "Invalid orderType.")
            if kind not in market.order_types:
                raise BinanceError(-1014, "Unsupported order combination.")
            qty, price, stop = self._amounts(market, kind, p)
            client_id = p.get("newClientOrderId") or client_order_id()
            known = self.by_client.get(client_id)
            if known is not None and self.orders[known].live:
                raise BinanceError(-2010, DUPLICATE)
            now = self.clock()
            order = Order(
                symbol=market.id, order_id=self._next_order, client_id=client_id, side=side,
                type=kind, time_in_force=p.get("timeInForce", "GTC"), price=price,
                stop_price=stop, orig_qty=qty, time=now, update_time=now,
                triggered=not kind.startswith("STOP_LOSS"),
            )  # fmt: skip
            price_now = self.prices.get(market.id)
            if kind == "LIMIT_MAKER" and price_now is not None and _crosses(order, price_now):
                raise BinanceError(-2010, "Order would immediately match and take.")
            self._reserve(market, order)
            self._next_order += 1
            self.orders[order.order_id] = order
            self.by_client[client_id] = order.order_id
            self._match(order, taker=True)
            return order

    def _amounts(
        self, market: Market, kind: str, p: Mapping[str, str]
    ) -> tuple[Decimal, Decimal, Decimal]:
        """Quantity, limit price and stop price, checked like Binance's filters."""
        if kind == "MARKET":
            self.price(market.id)  # a test must set a price before market orders
        limit = kind in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT")
        price = _decimal(p, "price") if limit else ZERO
        stop = _decimal(p, "stopPrice") if kind.startswith("STOP_LOSS") else ZERO
        if kind in ("LIMIT", "STOP_LOSS_LIMIT") and not p.get("timeInForce"):
            raise missing("timeInForce")
        if kind == "MARKET" and "quantity" not in p and "quoteOrderQty" in p:
            spend = _decimal(p, "quoteOrderQty")
            step = market.step or Decimal("0.00000001")
            qty = (spend / self.price(market.id) // step) * step
        else:
            qty = _decimal(p, "quantity")
        if qty < market.min_qty or (market.step and (qty - market.min_qty) % market.step):
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        if limit and market.tick and price % market.tick:
            raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
        notional = qty * (price if limit else self.prices.get(market.id, ZERO))
        if notional < market.min_notional:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")
        if qty <= 0:
            raise BinanceError(-1013, "Invalid quantity.")
        return qty, price, stop

    def _reserve(self, market: Market, order: Order) -> None:
        """Locks what a resting order may spend; a market order must be covered now."""
        if order.side == "SELL":
            asset, need = market.base, order.orig_qty
        elif order.type in ("MARKET", "STOP_LOSS"):
            asset, need = market.quote, order.orig_qty * self.prices.get(market.id, ZERO)
        else:
            asset, need = market.quote, order.orig_qty * order.price
        if self.free.get(asset, ZERO) < need:
            raise BinanceError(-2010, INSUFFICIENT)
        if order.type not in ("MARKET", "STOP_LOSS") or order.side == "SELL":
            self._move(asset, -need, +need)

    def _move(self, asset: str, free: Decimal, locked: Decimal = ZERO) -> None:
        self.free[asset] = self.free.get(asset, ZERO) + free
        self.locked[asset] = self.locked.get(asset, ZERO) + locked

    def cancel(self, order: Order) -> Order:
        with self.lock:
            if not order.live:
                raise BinanceError(-2011, UNKNOWN_ORDER)
            self._release(order)
            order.status, order.update_time = "CANCELED", self.clock()
            return order

    def cancel_all(self, symbol: str) -> list[Order]:
        """Binance answers -2011 when there is nothing to cancel."""
        with self.lock:
            orders = self.open_orders(symbol)
            if not orders:
                raise BinanceError(-2011, UNKNOWN_ORDER)
            return [self.cancel(o) for o in orders]

    def _release(self, order: Order) -> None:
        market = self.markets[order.symbol]
        if order.side == "SELL":
            self._move(market.base, order.remaining, -order.remaining)
        elif order.type not in ("MARKET", "STOP_LOSS"):
            held = order.remaining * order.price
            self._move(market.quote, held, -held)

    # -- prices and fills ---------------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal, *, match: bool = True) -> None:
        """The last traded price; resting orders it reaches fill (or trigger) unless not match."""
        with self.lock:
            self.market(symbol)
            self.prices[symbol] = price
            if match:
                for order in self.open_orders(symbol):
                    self._match(order, taker=False)

    def _match(self, order: Order, *, taker: bool) -> None:
        price = self.prices.get(order.symbol)
        if price is None or not order.live:
            return
        if not order.triggered:
            falling = order.stop_price >= price if order.side == "SELL" else False
            rising = order.stop_price <= price if order.side == "BUY" else False
            if not (falling or rising):
                return
            order.triggered, taker = True, True
        if order.type in ("MARKET", "STOP_LOSS"):
            try:
                self.fill(order, order.remaining, price, maker=False)
            except BinanceError:  # a triggered stop the balance no longer covers
                order.status = "EXPIRED"
                self._release(order)
            return
        crossed = _crosses(order, price)
        if crossed:
            self.fill(order, order.remaining, price if taker else order.price, maker=not taker)
        elif order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
            self._release(order)

    def fill(
        self, order: Order, qty: Decimal, price: Decimal | None = None, *, maker: bool = True
    ) -> Fill:
        """Executes `qty` of a live order at `price` (its limit price by default)."""
        with self.lock:
            if not order.live or not 0 < qty <= order.remaining:
                raise ValueError(f"cannot fill {qty} of order {order.order_id} ({order.status})")
            market = self.markets[order.symbol]
            price = price if price is not None else (order.price or self.price(order.symbol))
            rate = self.maker_fee if maker else self.taker_fee
            quote = qty * price
            if order.side == "BUY":
                fee, fee_asset = qty * rate, market.base
                reserved = qty * order.price if order.type not in ("MARKET", "STOP_LOSS") else ZERO
                if self.free.get(market.quote, ZERO) + reserved < quote:
                    raise BinanceError(-2010, INSUFFICIENT)
                self._move(market.quote, reserved - quote, -reserved)
                self._move(market.base, qty - fee)
            else:
                fee, fee_asset = quote * rate, market.quote
                self._move(market.base, ZERO, -qty)
                self._move(market.quote, quote - fee)
            now = self.clock()
            made = Fill(price, qty, fee, fee_asset, self._next_trade)
            self.trades.append(
                Trade(self._next_trade, order.symbol, order.order_id, price, qty, fee,
                      fee_asset, now, order.side == "BUY", maker)
            )  # fmt: skip
            self._next_trade += 1
            order.fills.append(made)
            order.executed_qty += qty
            order.cum_quote += quote
            order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
            order.update_time = now
            return made


def _crosses(order: Order, price: Decimal) -> bool:
    """Whether a limit order is marketable at `price`."""
    return price <= order.price if order.side == "BUY" else price >= order.price


def _decimal(p: Mapping[str, str], name: str) -> Decimal:
    if not p.get(name):
        raise missing(name)
    try:
        return Decimal(p[name])
    except ArithmeticError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None
