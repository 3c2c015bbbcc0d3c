"""The incremental indicators give TA-Lib's values at every candle, and only see the past."""

import numpy as np
import pytest
import talib

from core.market.series import CandleSeries
from core.market.source import MarketRequest, open_market
from tests.conftest import SHARED, needs_shared
from tests.support import history_of, info, series_from_closes
from tools.features import compute_features
from tools.indicators import Adx, Atr, Bollinger, Ema, MacdHistogram, Rsi

TOLERANCE = 1e-9
"""Relative to the value (or to 1 for values under 1)."""


def _incremental(series: CandleSeries) -> dict[str, np.ndarray]:
    """Every indicator advanced one candle at a time; NaN while it warms up."""
    closes = {"ema_12": Ema(12), "ema_48": Ema(48), "rsi": Rsi(14), "macd_hist": MacdHistogram()}
    ranges = {"atr": Atr(14), "adx": Adx(14)}
    bands = Bollinger(20, 2.0)
    out = {name: np.full(len(series), np.nan) for name in [*closes, *ranges, "upper", "lower"]}
    rows = zip(series.high.tolist(), series.low.tolist(), series.close.tolist(), strict=True)
    for i, (high, low, close) in enumerate(rows):
        for name, indicator in closes.items():
            value = indicator.update(close)
            out[name][i] = np.nan if value is None else value
        for name, ranged in ranges.items():
            value = ranged.update(high, low, close)
            out[name][i] = np.nan if value is None else value
        band = bands.update(close)
        if band is not None:
            out["lower"][i], out["upper"][i] = band
    return out


def _talib(series: CandleSeries) -> dict[str, np.ndarray]:
    high, low, close = series.high, series.low, series.close
    upper, _, lower = talib.BBANDS(close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    return {
        "ema_12": talib.EMA(close, timeperiod=12),
        "ema_48": talib.EMA(close, timeperiod=48),
        "rsi": talib.RSI(close, timeperiod=14),
        "macd_hist": talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)[2],
        "atr": talib.ATR(high, low, close, timeperiod=14),
        "adx": talib.ADX(high, low, close, timeperiod=14),
        "upper": upper,
        "lower": lower,
    }


def _assert_same_as_talib(series: CandleSeries) -> None:
    mine, theirs = _incremental(series), _talib(series)
    for name, expected in theirs.items():
        warm = ~np.isnan(expected)
        assert np.array_equal(np.isnan(mine[name]), ~warm), f"{name} warms up differently"
        error = np.abs(mine[name][warm] - expected[warm]) / np.maximum(1.0, np.abs(expected[warm]))
        assert error.max() < TOLERANCE, f"{name}: {error.max():.2e} at {np.argmax(error)}"


@needs_shared
@pytest.mark.parametrize(
    ("market", "symbol", "timeframe"),
    [
        ("binance-2020-12_2021-07-5m", "BTC/USDT", "5m"),
        ("binance-2020-09_2021-10", "SOL/USDT", "1h"),
        ("binance-2021-05-crash-1m", "BTC/USDT", "1m"),
    ],
)
def test_every_candle_of_a_recording_matches_talib_over_the_whole_history(
    market, symbol, timeframe
):
    _, series = open_market(
        MarketRequest(spec=str(SHARED / "markets" / market), symbol=symbol, timeframe=timeframe)
    )

    _assert_same_as_talib(series)


def test_a_flat_market_matches_talib_too():
    closes = np.concatenate([np.full(80, 100.0), 100.0 + np.arange(40) * 0.5, np.full(60, 120.0)])
    series = series_from_closes(closes)
    flat = CandleSeries(
        ts=series.ts, open=closes, high=closes, low=closes, close=closes, volume=series.volume
    )

    _assert_same_as_talib(flat)


def test_an_indicator_gives_at_t_what_talib_gives_on_the_candles_up_to_t():
    _, series = open_market(MarketRequest(spec="synthetic:3", bars=400))
    mine = _incremental(series)

    for t in (60, 120, 399):
        prefix = series.window(0, t + 1)
        theirs = _talib(prefix)
        for name in ("ema_48", "adx", "macd_hist"):
            assert mine[name][t] == pytest.approx(theirs[name][t], rel=TOLERANCE)


def test_features_read_after_a_gap_catch_up_to_the_same_values():
    series = series_from_closes(100 * np.exp(np.cumsum(np.full(300, 0.001))))
    every_candle = history_of(series.window(0, 1))
    compute_features(every_candle)
    for i in range(1, len(series)):
        every_candle.append(series.candle(i))
        compute_features(every_candle)
    in_one_go = history_of(series, info())

    assert compute_features(in_one_go) == compute_features(every_candle)
