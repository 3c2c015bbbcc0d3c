"""The exchange source, offline: a real ccxt binance object whose HTTP layer replays recordings.

ccxt builds the real request URLs and parses the real recorded responses; only the transport
(`exchange.fetch`) is replaced. Rate limiting is off because ccxt's throttler reads
`exchange.milliseconds`, which these tests freeze to make "closed candle" deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from core.errors import UserError
from core.market.exchange import fetch_exchange_ohlcv, instrument_rules, make_exchange
from core.market.source import MarketRequest, open_market
from core.types import InstrumentRules
from tests.conftest import SHARED

ccxt = pytest.importorskip("ccxt")

CCXT_FIXTURES = SHARED / "fixtures" / "ccxt"
needs_ccxt_fixtures = pytest.mark.skipif(
    not (CCXT_FIXTURES / "response" / "binance.json").is_file(),
    reason="../shared/fixtures/ccxt is absent: exchange tests replay its recorded responses",
)
HOUR = 3_600_000


def ohlcv_cases() -> list[dict[str, Any]]:
    if not (CCXT_FIXTURES / "response" / "binance.json").is_file():
        return []
    recorded = json.loads((CCXT_FIXTURES / "response" / "binance.json").read_text())
    return list(recorded["methods"]["fetchOHLCV"])


def period_ms(timeframe: str) -> int:
    return {"1m": 60_000, "1h": HOUR, "1d": 24 * HOUR}[timeframe]


class Replayer:
    """Stands in for ccxt's HTTP transport and remembers every URL ccxt built."""

    def __init__(self, respond: Callable[[str], Any]) -> None:
        self.respond = respond
        self.urls: list[str] = []

    def __call__(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        self.urls.append(url)
        return self.respond(url)

    def query(self, i: int) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlparse(self.urls[i]).query).items()}


def binance(respond: Callable[[str], Any], now_ms: int) -> tuple[Any, Replayer]:
    exchange = ccxt.binance({"enableRateLimit": False})
    markets = json.loads((CCXT_FIXTURES / "markets" / "binance.json").read_text())
    exchange.set_markets(markets)
    replayer = Replayer(respond)
    exchange.fetch = replayer
    exchange.milliseconds = lambda: now_ms
    return exchange, replayer


def raw_kline(open_ms: int, price: float) -> list[Any]:
    """One candle in Binance's raw kline layout, as in the recorded responses."""
    return [
        open_ms,
        f"{price:.2f}",
        f"{price * 1.01:.2f}",
        f"{price * 0.99:.2f}",
        f"{price + 0.5:.2f}",
        "12.50000000",
        open_ms + HOUR - 1,
        "1000.0",
        42,
        "6.0",
        "500.0",
        "0",
    ]


class KlineServer:
    """Serves a long hourly history the way Binance pages it: from startTime, at most limit."""

    def __init__(self, candles: int, start_ms: int) -> None:
        self.rows = [raw_kline(start_ms + i * HOUR, 100.0 + i) for i in range(candles)]

    def __call__(self, url: str) -> list[list[Any]]:
        query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        since = int(query.get("startTime", 0))
        limit = int(query["limit"])
        return [row for row in self.rows if row[0] >= since][:limit]


@needs_ccxt_fixtures
@pytest.mark.parametrize(
    "case", ohlcv_cases(), ids=[c["description"] for c in ohlcv_cases()] or None
)
def test_recorded_response_parses_to_the_expected_candles(case: dict[str, Any]) -> None:
    symbol, timeframe, since = case["input"][:3]
    expected = np.array(case["parsedResponse"], dtype=np.float64)
    now = int(expected[-1, 0]) + period_ms(timeframe)  # every recorded candle has closed
    exchange, replayer = binance(lambda url: case["httpResponse"], now)

    series = fetch_exchange_ohlcv(exchange, symbol, timeframe, bars=len(expected), since_ms=since)

    np.testing.assert_array_equal(series.ts, expected[:, 0].astype(np.int64))
    for i, column in enumerate(("open", "high", "low", "close", "volume"), start=1):
        np.testing.assert_array_equal(getattr(series, column), expected[:, i])
    assert len(replayer.urls) == 1
    query = replayer.query(0)
    assert query["interval"] == timeframe
    assert query["symbol"] == exchange.market(symbol)["id"]
    if since is not None:
        assert query["startTime"] == str(since)
        assert query["limit"] == str(case["input"][3])


@needs_ccxt_fixtures
def test_candle_that_has_not_closed_is_dropped() -> None:
    case = ohlcv_cases()[0]
    last_open = case["parsedResponse"][-1][0]
    exchange, _ = binance(lambda url: case["httpResponse"], last_open + HOUR // 2)

    series = fetch_exchange_ohlcv(exchange, "BTC/USDT", "1h", bars=3, since_ms=case["input"][2])

    assert series.ts.tolist() == [row[0] for row in case["parsedResponse"][:2]]


@needs_ccxt_fixtures
def test_last_closed_candles_up_to_now_when_no_start_is_given() -> None:
    case = ohlcv_cases()[0]
    last_open = case["parsedResponse"][-1][0]
    exchange, replayer = binance(lambda url: case["httpResponse"], last_open + HOUR + 5)

    series = fetch_exchange_ohlcv(exchange, "BTC/USDT", "1h", bars=2)

    assert series.ts.tolist() == [row[0] for row in case["parsedResponse"][1:]]
    assert len(replayer.urls) == 1


@needs_ccxt_fixtures
def test_paging_walks_forward_and_stops_at_the_newest_closed_candle() -> None:
    start = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
    server = KlineServer(2600, start)
    now = start + 2600 * HOUR - HOUR // 3  # the 2600th candle is still forming
    exchange, replayer = binance(server, now)

    series = fetch_exchange_ohlcv(exchange, "BTC/USDT", "1h", bars=None, since_ms=start)

    assert len(series) == 2599
    assert series.ts[0] == start
    assert np.all(np.diff(series.ts) == HOUR)
    limits = [int(replayer.query(i)["limit"]) for i in range(len(replayer.urls))]
    assert limits[:2] == [1000, 1000]  # ccxt's page size for binance spot
    assert len(limits) == 3  # the third page reaches the forming candle: no fourth request


@needs_ccxt_fixtures
def test_paging_keeps_the_first_bars_after_a_start() -> None:
    start = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
    exchange, replayer = binance(KlineServer(3000, start), start + 3000 * HOUR)

    series = fetch_exchange_ohlcv(exchange, "BTC/USDT", "1h", bars=1500, since_ms=start + HOUR)

    assert len(series) == 1500
    assert series.ts[0] == start + HOUR
    assert len(replayer.urls) == 2


@needs_ccxt_fixtures
def test_paging_gives_the_last_bars_up_to_an_end() -> None:
    start = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
    exchange, _ = binance(KlineServer(3000, start), start + 3000 * HOUR)
    end = start + 2000 * HOUR

    series = fetch_exchange_ohlcv(exchange, "BTC/USDT", "1h", bars=1200, until_ms=end)

    assert len(series) == 1200
    assert series.ts[-1] == end
    assert series.ts[0] == end - 1199 * HOUR


@needs_ccxt_fixtures
def test_exchange_that_ignores_since_does_not_loop_forever() -> None:
    case = ohlcv_cases()[0]
    last_open = case["parsedResponse"][-1][0]
    exchange, replayer = binance(lambda url: case["httpResponse"], last_open + 100 * HOUR)

    series = fetch_exchange_ohlcv(exchange, "BTC/USDT", "1h", bars=50, since_ms=case["input"][2])

    assert len(series) == 3
    assert len(replayer.urls) == 2


@needs_ccxt_fixtures
def test_unknown_symbol_is_a_user_error_without_any_request() -> None:
    exchange, replayer = binance(lambda url: [], 1_700_000_000_000)

    with pytest.raises(UserError, match=r"binance has no market FOO/USDT"):
        fetch_exchange_ohlcv(exchange, "FOO/USDT", "1h", bars=10)

    assert replayer.urls == []


@needs_ccxt_fixtures
def test_unsupported_timeframe_lists_the_exchange_timeframes() -> None:
    exchange, _ = binance(lambda url: [], 1_700_000_000_000)

    with pytest.raises(UserError, match=r"binance has no 7m candles: use one of 1s, 1m"):
        fetch_exchange_ohlcv(exchange, "BTC/USDT", "7m", bars=10)


@needs_ccxt_fixtures
@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (
            lambda: ccxt.RequestTimeout("binance GET https://api.binance.com\n timed out"),
            "could not reach binance while fetching BTC/USDT 1h candles",
        ),
        (
            lambda: ccxt.ExchangeNotAvailable("binance 503\n<html>maintenance</html>"),
            "could not reach binance",
        ),
        (
            lambda: ccxt.ExchangeError('binance {"code":-1121,"msg":"Invalid symbol."}'),
            "binance refused the request",
        ),
        (lambda: ccxt.BadSymbol("binance does not have market symbol"), "rejected the symbol"),
    ],
)
def test_exchange_failures_become_one_line_user_errors(
    error: Callable[[], Exception], fragment: str
) -> None:
    def fail(url: str) -> Any:
        raise error()

    exchange, _ = binance(fail, 1_700_000_000_000)

    with pytest.raises(UserError) as caught:
        fetch_exchange_ohlcv(exchange, "BTC/USDT", "1h", bars=10)

    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_make_exchange_builds_a_rate_limited_ccxt_exchange() -> None:
    exchange = make_exchange("Binance")

    assert exchange.id == "binance"
    assert exchange.enableRateLimit is True


def test_unknown_exchange_id_says_how_to_list_the_valid_ones() -> None:
    with pytest.raises(UserError) as caught:
        make_exchange("binanse")

    message = str(caught.value)
    assert "unknown exchange 'binanse'" in message
    assert "did you mean binance" in message
    assert "print(ccxt.exchanges)" in message


@needs_ccxt_fixtures
def test_open_market_exchange_spec_windows_through_the_factory() -> None:
    start = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
    exchange, _ = binance(KlineServer(100, start), start + 100 * HOUR)
    names: list[str] = []

    def factory(name: str) -> Any:
        names.append(name)
        return exchange

    info, series = open_market(
        MarketRequest(spec="exchange:binance", symbol="btc/usdt", timeframe="1h", bars=24),
        exchange_factory=factory,
    )

    assert names == ["binance"]
    assert (info.source, info.symbol, info.timeframe, info.synthetic) == (
        "exchange:binance",
        "BTC/USDT",
        "1h",
        False,
    )
    assert len(series) == 24
    assert series.ts[-1] == start + 99 * HOUR


def test_exchange_market_carries_the_instrument_rules_from_ccxt_market_info() -> None:
    start = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
    exchange, _ = binance(KlineServer(100, start), start + 100 * HOUR)
    exchange.precisionMode = ccxt.DECIMAL_PLACES  # the recorded markets count decimal places
    market = exchange.market("BTC/USDT")

    info, _ = open_market(
        MarketRequest(spec="exchange:binance", symbol="BTC/USDT", timeframe="1h", bars=24),
        exchange_factory=lambda name: exchange,
    )

    rules = info.rules
    assert rules is not None
    assert rules.min_amount == market["limits"]["amount"]["min"]
    assert rules.max_amount == market["limits"]["amount"]["max"]
    assert rules.min_notional == market["limits"]["cost"]["min"]
    assert rules.amount_step == 10.0 ** -market["precision"]["amount"]
    assert rules.price_tick == 10.0 ** -market["precision"]["price"]


def test_decimal_places_precision_becomes_a_step() -> None:
    market = {"precision": {"amount": 5, "price": 2}, "limits": {"cost": {"min": 5}}}

    rules = instrument_rules(market, precision_mode=2)

    assert rules == InstrumentRules(amount_step=1e-05, price_tick=0.01, min_notional=5.0)
