"""A fake Binance spot exchange on 127.0.0.1 that a real `ccxt.binance` can trade against.

ccxt signs, builds and parses every request for real; the fake checks the HMAC signature, keeps
order state (`book.py`), logs every request, and can be told to fail upcoming requests the ways
a live exchange does (timeouts, 429, 5xx, rejects, and orders accepted whose answer is lost),
so an execution broker's retry and reconciliation code can be tested without the internet.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fake_exchange import routes
from tests.fake_exchange.book import INSUFFICIENT, BinanceError, Book, Market, Order, missing
from tests.fake_exchange.client import point_at

API_KEY = "fake-binance-test-key"
SECRET = "fake-binance-test-secret"  # a test secret, not a credential
RATE_LIMITED = (
    "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. "
    "Please use the websocket for live updates to avoid polling the API."
)
UNKNOWN_STATUS = (
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown."
)


class FaultKind(StrEnum):
    TIMEOUT = "timeout"  # no answer for timeout_delay s, or until close (not processed)
    RATE_LIMIT = "rate_limit"  # HTTP 429, -1003, Retry-After
    UNAVAILABLE = "unavailable"  # HTTP 5xx with a non-JSON body, as Binance's front end sends
    DROP = "drop"  # connection closed without an answer (request not processed)
    INSUFFICIENT_FUNDS = "insufficient_funds"  # -2010, insufficient balance
    FILTER_FAILURE = "filter_failure"  # -1013 Filter failure (LOT_SIZE by default)
    UNKNOWN_OUTCOME = "unknown_outcome"  # processed and stored, then the answer is lost


class Lost(StrEnum):
    """How the answer to an UNKNOWN_OUTCOME request is lost."""

    TIMEOUT = "timeout"  # the client times out
    DROP = "drop"  # the connection is closed
    BACKEND = "backend"  # HTTP 503 with -1007 "execution status unknown", as Binance does


@dataclass
class Fault:
    """A failure for the next `times` requests matching method and path (None: any)."""

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    times: int = 1
    status: int = 503
    retry_after: int = 1
    message: str = "Filter failure: LOT_SIZE"
    lost: Lost = Lost.TIMEOUT

    def matches(self, method: str, path: str) -> bool:
        return self.method in (None, method) and self.path in (None, path)


@dataclass
class LoggedRequest:
    method: str
    path: str
    params: dict[str, str]
    api_key: str | None
    fault: FaultKind | None = None
    status: int | None = None  # None: no answer was sent


@dataclass
class _Candles:
    rows: list[list[Any]]
    cursor: int = field(default=-1)


class FakeBinance:
    """The server, its order book and its controls; `close()` stops it."""

    def __init__(
        self,
        markets: Mapping[str, Mapping[str, Any]],
        balances: Mapping[str, Decimal | str | float] | None = None,
        *,
        fee: Decimal | str = "0.001",
        timeout_delay: float = 30.0,
        currencies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        spot = [Market.from_ccxt(m) for m in markets.values() if m.get("spot")]
        self.markets = dict(markets)
        self.currencies = dict(currencies or {})
        self.book = Book(spot, balances, taker_fee=Decimal(fee), maker_fee=Decimal(fee))
        self.api_key, self.secret = API_KEY, SECRET
        self.timeout_delay = timeout_delay
        self.faults: list[Fault] = []
        self.requests: list[LoggedRequest] = []
        self.errors: list[str] = []  # unexpected exceptions inside the fake (a test bug)
        self._candles: dict[tuple[str, str], _Candles] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    @staticmethod
    def now() -> int:
        return int(time.time() * 1000)

    # -- controls -----------------------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal | str | float, *, match: bool = True) -> None:
        """The last price; resting orders it reaches fill at once unless `match` is False."""
        self.book.set_price(_id(symbol), Decimal(str(price)), match=match)

    def set_candles(
        self,
        symbol: str,
        interval: str,
        rows: Iterable[Sequence[Any]],
        *,
        served: int | None = None,
    ) -> None:
        """Candles as Binance kline rows or (open time ms, o, h, l, c, v); the first `served`
        are visible (all by default) and the last visible close becomes the price."""
        klines = [_kline(r, interval) for r in rows]
        entry = _Candles(klines)
        self._candles[(_id(symbol), interval)] = entry
        self.advance(symbol, interval, len(klines) if served is None else served)

    def advance(self, symbol: str, interval: str, bars: int = 1) -> None:
        """Reveals the next `bars` candles; the newest close becomes the price (filling orders)."""
        entry = self._candles[(_id(symbol), interval)]
        entry.cursor = min(entry.cursor + bars, len(entry.rows) - 1)
        if entry.cursor >= 0:
            self.set_price(symbol, entry.rows[entry.cursor][4])

    def served_candles(self, symbol: str, interval: str) -> list[list[Any]]:
        entry = self._candles.get((symbol, interval))
        return entry.rows[: entry.cursor + 1] if entry else []

    def order(self, ref: str | int, symbol: str = "BTCUSDT") -> Order:
        """An order by client order id (str) or exchange order id (int)."""
        if isinstance(ref, int):
            return self.book.find(_id(symbol), str(ref), None)
        return self.book.find(_id(symbol), None, ref)

    def fill(
        self,
        ref: str | int,
        qty: Decimal | str | None = None,
        *,
        fraction: Decimal | str | None = None,
        price: Decimal | str | None = None,
        symbol: str = "BTCUSDT",
    ) -> Order:
        """Fills part of a live order: `qty`, or `fraction` of its original quantity."""
        order = self.order(ref, symbol)
        amount = Decimal(qty) if qty is not None else order.orig_qty * Decimal(fraction or 1)
        self.book.fill(order, amount, None if price is None else Decimal(price))
        return order

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        """(free, locked)."""
        return self.book.balance(asset)

    def fail_next(self, kind: FaultKind | str, **options: Any) -> Fault:
        """Queues a fault for upcoming requests; see `Fault` for the options."""
        fault = Fault(FaultKind(kind), **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def client_order_ids(self) -> list[str]:
        """newClientOrderId of every order request received, in order (repeats included)."""
        return [
            r.params["newClientOrderId"]
            for r in self.requests
            if (r.method, r.path) == ("POST", "/api/v3/order") and "newClientOrderId" in r.params
        ]

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _pause(self) -> None:
        self._stopping.wait(self.timeout_delay)

    # -- ccxt ---------------------------------------------------------------------------------

    def ccxt(self, **config: Any) -> Any:
        """A real ccxt binance (spot) whose every API URL points here, keyed for the fake."""
        import ccxt

        exchange = ccxt.binance(
            {"apiKey": self.api_key, "secret": self.secret, "enableRateLimit": True} | config
        )
        return point_at(exchange, self.url, self.markets)


def _id(symbol: str) -> str:
    return symbol.replace("/", "")


def _kline(row: Sequence[Any], interval: str) -> list[Any]:
    if len(row) >= 12:
        return list(row)
    from core.types import timeframe_seconds

    ts, o, h, lo, c, v = row[:6]
    close_time = int(ts) + timeframe_seconds(interval) * 1000 - 1
    prices = [str(Decimal(str(x))) for x in (o, h, lo, c, v)]
    return [int(ts), *prices, close_time, "0", 0, "0", "0", "0"]


class _Handler(BaseHTTPRequestHandler):
    """Routes one request; faults decide whether and how it is answered."""

    fake: FakeBinance
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def log_message(self, *args: Any) -> None:
        return

    def _handle(self, method: str) -> None:
        fake = self.fake
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        params |= dict(parse_qsl(body, keep_blank_values=True))
        signature = params.pop("signature", None)
        record = LoggedRequest(method, split.path, params, self.headers.get("X-MBX-APIKEY"))
        fake.requests.append(record)
        fault = fake._take_fault(method, split.path)
        record.fault = fault.kind if fault else None
        if fault is not None and fault.kind != FaultKind.UNKNOWN_OUTCOME:
            self._fail(record, fault)
            return
        key = (method, split.path)
        try:
            if key in routes.SIGNED:
                self._authenticate(split.query, body, signature, params)
                status, answer = routes.SIGNED[key](fake, params)
            elif key in routes.PUBLIC:
                status, answer = routes.PUBLIC[key](fake, params)
            else:
                self._send(record, 404, b"<html><body><h1>404 Not Found</h1></body></html>")
                return
        except BinanceError as error:
            status, answer = error.status, {"code": error.code, "msg": error.msg}
        except Exception as error:  # a bug in the test or the fake: make it visible
            fake.errors.append(f"{method} {split.path}: {error!r}")
            self._send(record, 500, repr(error).encode())
            return
        if fault is not None:  # UNKNOWN_OUTCOME: processed, but the answer never arrives
            self._lose(record, fault.lost)
            return
        self._send(record, status, json.dumps(answer).encode(), "application/json")

    def _authenticate(
        self, query: str, body: str, signature: str | None, params: dict[str, str]
    ) -> None:
        """Binance's checks: API key, timestamp within recvWindow, HMAC-SHA256 of the rest."""
        key = self.headers.get("X-MBX-APIKEY")
        if not key:
            raise BinanceError(-2014, "API-key format invalid.", 401)
        if key != self.fake.api_key:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if "timestamp" not in params:
            raise missing("timestamp")
        if signature is None:
            raise missing("signature")
        payload = _unsigned(query) + _unsigned(body)
        wanted = hmac.new(self.fake.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(wanted, signature):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        window = int(params.get("recvWindow", 5000))
        if abs(self.fake.now() - int(params["timestamp"])) > window:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")

    def _fail(self, record: LoggedRequest, fault: Fault) -> None:
        kind = fault.kind
        if kind in (FaultKind.TIMEOUT, FaultKind.DROP):
            self._lose(record, Lost(kind.value))
        elif kind == FaultKind.RATE_LIMIT:
            error = json.dumps({"code": -1003, "msg": RATE_LIMITED}).encode()
            self._send(record, 429, error, "application/json", {"Retry-After": fault.retry_after})
        elif kind == FaultKind.UNAVAILABLE:
            self._send(record, fault.status, b"<html><body>Service Unavailable</body></html>")
        else:
            code, msg = (
                (-2010, INSUFFICIENT)
                if kind == FaultKind.INSUFFICIENT_FUNDS
                else (-1013, fault.message)
            )
            self._send(
                record, 400, json.dumps({"code": code, "msg": msg}).encode(), "application/json"
            )

    def _lose(self, record: LoggedRequest, how: Lost) -> None:
        if how == Lost.BACKEND:
            error = json.dumps({"code": -1007, "msg": UNKNOWN_STATUS}).encode()
            self._send(record, 503, error, "application/json")
            return
        if how == Lost.TIMEOUT:
            self.fake._pause()
        self.close_connection = True  # nothing is written: the client sees the socket close

    def _send(
        self,
        record: LoggedRequest,
        status: int,
        payload: bytes,
        content_type: str = "text/html",
        headers: Mapping[str, object] | None = None,
    ) -> None:
        record.status = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, str(value))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _unsigned(raw: str) -> str:
    """The query or body as signed: everything but the trailing `signature=` parameter."""
    return "&".join(part for part in raw.split("&") if part and not part.startswith("signature="))
