"""The live feed streaming through ccxt.pro's own binance client from a local kline WebSocket,
and falling back to REST polling of the fake Binance when the stream drops or cannot stream."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core.market.live_feed import ExchangeFeed
from core.market.live_sources import ExchangeSource
from tests.core.live_feed_support import (
    MINUTE,
    T0,
    Events,
    FakeClock,
    klines_requests,
    reveal_each_minute,
    rows,
)
from tests.fake_exchange.client import point_at
from tests.fake_exchange.kline_stream import FakeKlineStream
from tests.fake_exchange.server import FakeBinance

SYMBOL = "BTC/USDT"


@pytest.fixture
def kline_stream() -> Iterator[FakeKlineStream]:
    stream = FakeKlineStream()
    try:
        yield stream
    finally:
        stream.close()


def streaming_source(
    fake: FakeBinance, stream: FakeKlineStream, *, can_stream: bool = True
) -> ExchangeSource:
    def pro() -> Any:
        import ccxt.pro

        exchange = point_at(ccxt.pro.binance({"enableRateLimit": True}), fake.url, fake.markets)
        exchange.urls["api"]["ws"]["spot"] = stream.url
        if not can_stream:
            exchange.has["watchOHLCV"] = False
        return exchange

    return ExchangeSource("binance", rest=lambda: fake.ccxt(timeout=3000), stream=pro)


def scripted(stream: FakeKlineStream, steps: list[Callable[[], None]]) -> Callable[[], None]:
    """One step per feed sleep, once ccxt.pro has subscribed."""

    def next_step() -> None:
        if steps and stream.subscribed.is_set():
            steps.pop(0)()

    return next_step


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "candle-stream" and t.is_alive()]


def test_streamed_candles_close_when_the_next_candle_starts(fake_binance, kline_stream):
    candles = rows(6)
    fake_binance.set_candles(SYMBOL, "1m", candles, served=3)
    push = kline_stream.push
    steps: list[Callable[[], None]] = [
        lambda: push("BTCUSDT", "1m", (*candles[2][:4], 7.0, 1.0), closed=False),
        lambda: push("BTCUSDT", "1m", candles[2], closed=True),
        lambda: push("BTCUSDT", "1m", (*candles[3][:4], 8.0, 1.0), closed=False),
        lambda: push("BTCUSDT", "1m", candles[1], closed=True),  # late repeat: ignored
        lambda: push("BTCUSDT", "1m", candles[3], closed=False),
        lambda: push("BTCUSDT", "1m", candles[4], closed=False),
    ]
    step = scripted(kline_stream, steps)

    def sleep(seconds: float) -> None:
        step()
        time.sleep(0.01)

    events = Events()
    fixed_now = T0 + 2 * MINUTE + 10_000  # the clock never closes a candle: only the stream
    feed = ExchangeFeed(
        [streaming_source(fake_binance, kline_stream)],
        [SYMBOL],
        "1m",
        now_ms=lambda: fixed_now,
        sleep=sleep,
        on_event=events.append,
        max_closes=2,
    )

    closes = list(feed.closes())

    assert [c[SYMBOL].ts for _, c in closes] == [candles[2][0], candles[3][0]]
    assert [c[SYMBOL].close for _, c in closes] == [candles[2][4], candles[3][4]]
    assert [ts for ts, _ in closes] == [T0 + 3 * MINUTE, T0 + 4 * MINUTE]
    assert kline_stream.subscriptions == ["btcusdt@kline_1m"]
    assert klines_requests(fake_binance) == 0
    assert events == []
    assert stream_threads() == []  # the stream and its ccxt.pro exchange are closed


def test_a_dropped_stream_falls_back_to_rest_then_resumes_without_losing_a_candle(
    fake_binance, kline_stream
):
    candles = rows(8)
    fake_binance.set_candles(SYMBOL, "1m", candles, served=3)
    clock = FakeClock(T0 + 2 * MINUTE + 10_000, real_pause=0.01)
    reveal_each_minute(fake_binance, clock, SYMBOL, 8)
    push = kline_stream.push
    dropped = threading.Event()

    def drop() -> None:
        kline_stream.drop()
        dropped.set()

    def tick_once_resubscribed() -> None:
        """After the retry delay ccxt.pro subscribes again; the stream ticks as Binance does."""
        if dropped.is_set() and kline_stream.subscribed.is_set():
            push("BTCUSDT", "1m", candles[(clock.ms - T0) // MINUTE], closed=False)

    clock.each_sleep.append(
        scripted(
            kline_stream,
            [
                lambda: push("BTCUSDT", "1m", candles[2], closed=True),
                lambda: push("BTCUSDT", "1m", (*candles[3][:4], 1.0, 1.0), closed=False),
                drop,
            ],
        )
    )
    clock.each_sleep.append(tick_once_resubscribed)
    events = Events()
    feed = ExchangeFeed(
        [streaming_source(fake_binance, kline_stream)],
        [SYMBOL],
        "1m",
        now_ms=clock.now,
        sleep=clock.sleep,
        on_event=events.append,
        max_closes=3,
        tick_s=2.0,
        grace_s=5.0,
        stream_retry_s=20.0,
    )

    closes = list(feed.closes())

    assert [c[SYMBOL].ts for _, c in closes] == [candles[k][0] for k in (2, 3, 4)]
    # Candle 3 was forming on the stream when it dropped (close 1.0): that value never shows.
    assert [c[SYMBOL].close for _, c in closes] == [candles[k][4] for k in (2, 3, 4)]
    assert events.kinds() == ["stream_fallback", "stream_resumed"], events
    assert "binance stream ended (NetworkError" in events[0].detail, events[0].detail
    assert kline_stream.subscriptions == ["btcusdt@kline_1m"] * 2
    assert stream_threads() == []


def test_an_exchange_that_cannot_stream_is_polled_from_the_start(fake_binance, kline_stream):
    candles = rows(6)
    fake_binance.set_candles(SYMBOL, "1m", candles, served=1)
    clock = FakeClock(T0 + 10_000, real_pause=0.005)
    reveal_each_minute(fake_binance, clock, SYMBOL, 6)
    events = Events()
    feed = ExchangeFeed(
        [streaming_source(fake_binance, kline_stream, can_stream=False)],
        [SYMBOL],
        "1m",
        now_ms=clock.now,
        sleep=clock.sleep,
        on_event=events.append,
        max_closes=2,
        tick_s=2.0,
    )

    closes = list(feed.closes())

    assert [c[SYMBOL].ts for _, c in closes] == [candles[0][0], candles[1][0]]
    assert events.kinds() == ["stream_fallback"]
    assert "no watchOHLCV" in events[0].detail
    assert kline_stream.subscriptions == []
