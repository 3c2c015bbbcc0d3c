"""The live exchange feed by REST polling and failover, against fake Binances on 127.0.0.1.

A real ccxt binance does every request; the fake clock makes minutes pass in milliseconds.
"""

from __future__ import annotations

import threading

import pytest

from core.errors import UserError
from core.market.live_feed import ExchangeFeed
from core.market.live_sources import parse_exchange_names
from tests.core.live_feed_support import (
    MINUTE,
    T0,
    Events,
    FakeClock,
    klines_requests,
    rest_source,
    reveal_each_minute,
    rows,
)
from tests.fake_exchange.plugin import START_BALANCES, recorded_markets
from tests.fake_exchange.server import FakeBinance, FaultKind

SYMBOL = "BTC/USDT"


def polling_feed(sources, clock, events, **options):
    return ExchangeFeed(
        sources,
        options.pop("symbols", [SYMBOL]),
        "1m",
        now_ms=clock.now,
        sleep=clock.sleep,
        on_event=events.append,
        **{"poll_delay_s": 2.0, "poll_every_s": 5.0, "grace_s": 5.0} | options,
    )


def test_polling_yields_each_closed_candle_once_and_never_the_forming_one(fake_binance):
    candles = rows(10)
    fake_binance.set_candles(SYMBOL, "1m", candles, served=3)  # 0, 1 closed; 2 forming
    clock = FakeClock(T0 + 2 * MINUTE + 10_000)
    reveal_each_minute(fake_binance, clock, SYMBOL, 10)
    events = Events()
    feed = polling_feed([rest_source(fake_binance)], clock, events, warmup_bars=2, max_closes=4)

    history = feed.warmup()[SYMBOL]
    closes = list(feed.closes())

    assert [int(ts) for ts in history.ts] == [T0, T0 + MINUTE]
    assert [ts for ts, _ in closes] == [T0 + k * MINUTE for k in (3, 4, 5, 6)]
    assert [c[SYMBOL].ts for _, c in closes] == [T0 + k * MINUTE for k in (2, 3, 4, 5)]
    assert [c[SYMBOL].close for _, c in closes] == [candles[k][4] for k in (2, 3, 4, 5)]
    assert events == []
    # Each close was served while the next candle was already forming on the exchange.
    assert len(fake_binance.served_candles("BTCUSDT", "1m")) == 7
    assert klines_requests(fake_binance) <= 2 + 4  # warm-up, then one poll per close


def test_several_symbols_close_together_once_per_candle_time(fake_binance):
    fake_binance.set_price("ETH/USDT", "2000")
    fake_binance.set_candles(SYMBOL, "1m", rows(6), served=1)
    fake_binance.set_candles("ETH/USDT", "1m", rows(6, base=2000.0), served=1)
    clock = FakeClock(T0 + 10_000)
    for symbol in (SYMBOL, "ETH/USDT"):
        reveal_each_minute(fake_binance, clock, symbol, 6)
    feed = polling_feed(
        [rest_source(fake_binance)], clock, Events(), symbols=[SYMBOL, "ETH/USDT"], max_closes=3
    )

    closes = list(feed.closes())

    assert feed.expected_cycles == 6  # 3 closes of 2 symbols
    assert [ts for ts, _ in closes] == [T0 + k * MINUTE for k in (1, 2, 3)]
    for k, (_, candles) in enumerate(closes):
        assert set(candles) == {SYMBOL, "ETH/USDT"}
        assert candles[SYMBOL].close == 30000.0 + k
        assert candles["ETH/USDT"].close == 2000.0 + k


def test_failing_exchange_hands_over_to_the_next_with_a_switch_event(fake_binance):
    backup = FakeBinance(recorded_markets(), START_BALANCES)
    try:
        candles = rows(8)
        for fake in (fake_binance, backup):
            fake.set_price(SYMBOL, "30000")
            fake.set_candles(SYMBOL, "1m", candles, served=1)
        clock = FakeClock(T0 + 10_000)
        for fake in (fake_binance, backup):
            reveal_each_minute(fake, clock, SYMBOL, 8)
        clock.at(T0 + 2 * MINUTE, lambda: fake_binance.fail_next(FaultKind.UNAVAILABLE, times=99))
        events = Events()
        sources = [rest_source(fake_binance, "binance"), rest_source(backup, "okx")]
        feed = polling_feed(sources, clock, events, max_failures=2, max_closes=5)

        closes = list(feed.closes())

        assert [c[SYMBOL].ts for _, c in closes] == [T0 + k * MINUTE for k in range(5)]
        assert [c[SYMBOL].close for _, c in closes] == [candles[k][4] for k in range(5)]
        assert events.kinds() == ["feed_switched"]
        assert events[0].detail.startswith("binance failed (ExchangeNotAvailable")
        assert "okx serves BTC/USDT from" in events[0].detail
        assert "\n" not in events[0].detail
        assert feed.serving == "okx"
        assert klines_requests(backup) >= 3
    finally:
        backup.close()


def test_a_stale_exchange_is_replaced_and_the_backup_fills_the_gap(fake_binance):
    backup = FakeBinance(recorded_markets(), START_BALANCES)
    try:
        candles = rows(10)
        fake_binance.set_candles(SYMBOL, "1m", candles, served=2)  # frozen: never advances
        backup.set_candles(SYMBOL, "1m", candles, served=2)
        clock = FakeClock(T0 + MINUTE + 10_000)
        reveal_each_minute(backup, clock, SYMBOL, 10)
        events = Events()
        sources = [rest_source(fake_binance, "binance"), rest_source(backup, "bybit")]
        feed = polling_feed(sources, clock, events, max_closes=4)

        closes = list(feed.closes())

        assert [c[SYMBOL].ts for _, c in closes] == [T0 + k * MINUTE for k in (1, 2, 3, 4)]
        assert events.kinds() == ["feed_switched"]
        assert "no closed candle since" in events[0].detail
        # The backup served the missed candles at once, in order, from the last yielded one on.
        assert closes[0][0] < closes[1][0] < closes[2][0] < closes[3][0]
    finally:
        backup.close()


def test_a_symbol_missing_on_a_backup_is_one_line_at_start(fake_binance):
    markets = {s: m for s, m in recorded_markets().items() if s != "ETH/USDT"}
    backup = FakeBinance(markets, START_BALANCES)
    try:
        feed = ExchangeFeed(
            [rest_source(fake_binance, "binance"), rest_source(backup, "kraken")],
            ["ETH/USDT"],
            "1m",
        )
        with pytest.raises(UserError) as caught:
            list(feed.closes())
        message = str(caught.value)
        assert "has no market ETH/USDT" in message
        assert "\n" not in message
    finally:
        backup.close()


def test_a_set_stop_event_ends_the_loop_without_a_close(fake_binance):
    fake_binance.set_candles(SYMBOL, "1m", rows(3), served=1)
    stop = threading.Event()
    clock = FakeClock(T0 + 10_000)
    clock.at(T0 + 20_000, stop.set)
    feed = ExchangeFeed(
        [rest_source(fake_binance)], [SYMBOL], "1m", now_ms=clock.now, sleep=clock.sleep, stop=stop
    )

    assert list(feed.closes()) == []
    assert feed.expected_cycles is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("exchange:", "needs a ccxt exchange id"),
        ("exchange:binance,,okx", "exchange name 2 in 'exchange:binance,,okx' is empty"),
        ("exchange:binance,okx,binance", "binance is named twice"),
        ("exchange:binanse", "did you mean binance"),
    ],
)
def test_bad_exchange_lists_are_one_line_each(spec, expected):
    with pytest.raises(UserError) as caught:
        parse_exchange_names(spec)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_exchange_lists_are_trimmed_and_lowercased():
    assert parse_exchange_names("exchange: Binance , okx,bybit") == ["binance", "okx", "bybit"]
