"""Candles from a live exchange through ccxt's unified `fetch_ohlcv`.

Only closed candles are returned: the candle still forming when the request runs would change
after the decision that read it, which is look-ahead in disguise. Paging walks forward with
`since` and stops at the newest closed candle, whatever page size the exchange really honours.
Nothing here is specific to one exchange or to the tests: the offline tests drive a real ccxt
exchange object whose HTTP layer replays recorded responses, so this code runs unchanged online.

ccxt is imported inside the functions: importing it costs about 1.5 s, which commands that use
synthetic or recorded data should not pay.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from functools import partial
from typing import Any, Final, TypeVar

import numpy as np

from core.errors import DataError, UserError
from core.market.series import CandleSeries
from core.types import InstrumentRules, timeframe_seconds

T = TypeVar("T")

DEFAULT_PAGE_LIMIT: Final = 500  # when ccxt does not say what the exchange allows
_MESSAGE_CHARS: Final = 200
_DECIMAL_PLACES: Final = 2  # ccxt.DECIMAL_PLACES (ccxt is imported lazily)
_TICK_SIZE: Final = 4  # ccxt.TICK_SIZE


def make_exchange(name: str, base_url: str | None = None, **config: Any) -> Any:
    """A ccxt sync exchange by id (`binance`, `kraken`, ...) that respects its rate limits;
    with `base_url` (the `exchange_urls` setting) its APIs are served from there."""
    import ccxt

    exchange_id = check_exchange_id(name)
    exchange = getattr(ccxt, exchange_id)({"enableRateLimit": True, **config})
    if base_url is not None:
        rebase_urls(exchange, base_url)
    return exchange


def rebase_urls(exchange: Any, base_url: str) -> Any:
    """Every API URL of `exchange` (its live, sandbox and demo tables) moved to `base_url`,
    keeping ccxt's paths; WebSocket URLs move too, as ws:// or wss:// to the same host."""
    from urllib.parse import urlsplit

    base = base_url.rstrip("/")
    ws_base = "ws" + base[4:] if base.startswith("http") else base

    def moved(url: str) -> str:
        parts = urlsplit(url)
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        return (ws_base if parts.scheme in ("ws", "wss") else base) + tail

    def walk(table: Any) -> Any:
        if isinstance(table, str):
            return moved(table) if "://" in table else table
        if isinstance(table, dict):
            return {key: walk(value) for key, value in table.items()}
        return table

    for name in ("api", "test", "demo"):
        if isinstance(exchange.urls.get(name), dict):
            exchange.urls[name] = walk(exchange.urls[name])
    return exchange


def check_exchange_id(name: str) -> str:
    """The ccxt id `name` names, or one line saying it is unknown (with close matches)."""
    import ccxt

    exchange_id = name.strip().lower()
    if exchange_id not in ccxt.exchanges:
        close = difflib.get_close_matches(exchange_id, ccxt.exchanges, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UserError(
            f"unknown exchange {name!r}{hint}: use a ccxt exchange id such as binance, kraken"
            ' or okx; python -c "import ccxt; print(ccxt.exchanges)" lists them all'
        )
    return exchange_id


def fetch_exchange_ohlcv(
    exchange: Any,
    symbol: str,
    timeframe: str,
    *,
    bars: int | None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> CandleSeries:
    """Closed candles of `symbol`, by candle open time, each timestamp once.

    With `since_ms`: candles from it on, the first `bars` of them (all up to `until_ms`/now when
    `bars` is None). Without: the last `bars` closed candles up to `until_ms` (or now).
    `on_page(received, kept)` hears of every page: the candles in range the exchange sent and
    how many of them were new (the rest repeat a timestamp already held), for progress bars
    and duplicate counts.
    """
    period_ms = timeframe_seconds(timeframe) * 1000
    if bars is not None and bars <= 0:
        raise UserError(f"bars must be at least 1, got {bars}")
    if since_ms is None and bars is None:
        raise UserError("say how many candles to fetch (--bars) or where to start (--from)")
    check_market(exchange, symbol, timeframe)
    # A candle that opened at t has closed once t + period <= now.
    newest_closed = int(exchange.milliseconds()) - period_ms
    upper = newest_closed if until_ms is None else min(until_ms, newest_closed)
    # Without a start, begin one period before the oldest wanted candle, in case the exchange
    # aligns candles differently; the surplus is cut off below.
    cursor = since_ms if since_ms is not None else upper - (bars or 0) * period_ms
    page = _page_limit(exchange, symbol)
    max_pages = math.ceil(max(upper - cursor, 0) / period_ms / page) + 2
    rows: dict[int, list[Any]] = {}
    for _ in range(max_pages):
        if cursor > upper:
            break
        since = cursor
        wanted = (upper - since) // period_ms + 1  # at most this many can have closed
        if since_ms is not None and bars is not None:
            wanted = min(wanted, bars - len(rows))
        batch: list[list[Any]] = _call(
            exchange,
            f"fetching {symbol} {timeframe} candles",
            partial(exchange.fetch_ohlcv, symbol, timeframe, since=since, limit=min(page, wanted)),
        )
        in_range = [row for row in batch or [] if since <= int(row[0]) <= upper]
        fresh = [row for row in in_range if int(row[0]) not in rows]
        held = len(rows)
        rows.update((int(row[0]), row) for row in fresh)
        if on_page is not None:
            on_page(len(in_range), len(rows) - held)
        if not fresh:
            break
        newest = max(int(row[0]) for row in fresh)
        # The next candle opens a full period later at the earliest: past `upper`, stop here.
        if newest + period_ms > upper or (
            since_ms is not None and bars is not None and len(rows) >= bars
        ):
            break
        cursor = newest + 1
    ordered = [rows[ts] for ts in sorted(rows)]
    if bars is not None:
        ordered = ordered[:bars] if since_ms is not None else ordered[-bars:]
    return _to_series(exchange, symbol, ordered)


def instrument_rules(market: dict[str, Any], precision_mode: int) -> InstrumentRules | None:
    """Precision and limits from a ccxt market, whichever precision mode the exchange uses."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}

    def step(value: Any) -> float | None:
        if value is None:
            return None
        if precision_mode == _DECIMAL_PLACES:
            return float(10.0 ** -float(value))
        if precision_mode == _TICK_SIZE:
            return float(value)
        return None  # significant digits: no fixed step

    def bound(kind: str, side: str) -> float | None:
        value = (limits.get(kind) or {}).get(side)
        return float(value) if value else None

    try:
        return InstrumentRules(
            amount_step=step(precision.get("amount")),
            price_tick=step(precision.get("price")),
            min_amount=bound("amount", "min"),
            max_amount=bound("amount", "max"),
            min_notional=bound("cost", "min"),
        )
    except ValueError:
        return None


def check_market(exchange: Any, symbol: str, timeframe: str) -> None:
    """Fail early, in the user's terms, on what the exchange cannot serve; an unknown symbol
    names the exchange's closest markets."""
    name = exchange.id
    if not exchange.has.get("fetchOHLCV"):
        raise UserError(f"{name} does not serve candles through ccxt: use another exchange")
    markets = _call(exchange, "loading its markets", exchange.load_markets) or {}
    if symbol not in markets:
        base = symbol.split("/")[0]
        closest = difflib.get_close_matches(symbol, list(markets), n=3)
        similar = closest or sorted(s for s in markets if s.split("/")[0] == base)[:5]
        hint = f" (it has {', '.join(similar)})" if similar else ""
        raise UserError(f"{name} has no market {symbol}{hint}: check the symbol, e.g. BTC/USDT")
    timeframes = getattr(exchange, "timeframes", None) or {}
    if timeframes and timeframe not in timeframes:
        raise UserError(f"{name} has no {timeframe} candles: use one of {', '.join(timeframes)}")


def _page_limit(exchange: Any, symbol: str) -> int:
    """The most candles one request may ask for, as ccxt's feature table knows it."""
    try:
        market = exchange.market(symbol)
        features = exchange.features[market["type"]]
        if market["type"] in ("swap", "future"):
            features = features["linear" if market.get("linear") else "inverse"]
        limit = int(features["fetchOHLCV"]["limit"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return DEFAULT_PAGE_LIMIT
    return limit if limit > 0 else DEFAULT_PAGE_LIMIT


def _call(exchange: Any, doing: str, fn: Callable[[], T]) -> T:
    """Run a ccxt call; turn its failures into one line the user can act on."""
    import ccxt

    name = exchange.id
    try:
        return fn()
    except ccxt.BadSymbol as exc:
        raise UserError(f"{name} rejected the symbol while {doing} ({_short(exc)})") from None
    except ccxt.NetworkError as exc:
        raise UserError(
            f"could not reach {name} while {doing} ({_short(exc)}): check the network and retry"
        ) from None
    except ccxt.ExchangeError as exc:
        raise UserError(f"{name} refused the request while {doing} ({_short(exc)})") from None
    except ccxt.BaseError as exc:
        raise UserError(f"{name} failed while {doing} ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 3] + "..."


def _to_series(exchange: Any, symbol: str, rows: list[list[Any]]) -> CandleSeries:
    """Columns from ccxt rows. Missing volume counts as zero; wicks an exchange reports a tick
    inside the body are widened to it, so the series keeps the OHLC invariant."""
    for row in rows:
        if len(row) < 6 or any(value is None for value in row[:5]):
            raise DataError(
                f"{exchange.id} sent an incomplete {symbol} candle at {row[0] if row else '?'}:"
                " try again later or another exchange"
            )
    table = np.array(
        [[float(v) if v is not None else 0.0 for v in row[1:6]] for row in rows], dtype=np.float64
    ).reshape(-1, 5)
    open_, high, low, close, volume = (np.ascontiguousarray(table[:, i]) for i in range(5))
    bad = ~np.isfinite(table[:, :4]).all(axis=1) | (table[:, :4] <= 0).any(axis=1)
    if bad.any():
        ts = int(rows[int(np.flatnonzero(bad)[0])][0])
        raise DataError(f"{exchange.id} sent a {symbol} candle at {ts} with an invalid price")
    return CandleSeries(
        ts=np.array([int(row[0]) for row in rows], dtype=np.int64),
        open=open_,
        high=np.maximum(high, np.maximum(open_, close)),
        low=np.minimum(low, np.minimum(open_, close)),
        close=close,
        volume=np.maximum(volume, 0.0),
    )
