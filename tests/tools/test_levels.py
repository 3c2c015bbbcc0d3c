"""Volume profile and support/resistance levels: hand-checked values, and no look-ahead."""

import time

import numpy as np
import pytest

from core.market.series import CandleSeries
from core.market.source import MarketRequest, open_market
from tests.conftest import SHARED, needs_shared
from tests.support import HOUR_MS, T0, flat_candles
from tools.levels import (
    levels_now,
    rolling_value_area,
    support_resistance,
    swing_points,
    volume_profile,
)


def random_walk(n: int, seed: int = 5) -> CandleSeries:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.004, n))
    return CandleSeries(
        ts=T0 + HOUR_MS * np.arange(n, dtype=np.int64),
        open=open_,
        high=np.maximum(open_, close) * (1 + spread),
        low=np.minimum(open_, close) * (1 - spread),
        close=close,
        volume=rng.lognormal(3, 0.5, n),
    )


@pytest.fixture(scope="module")
def btc_2023() -> CandleSeries:
    if not (SHARED / "markets").is_dir():
        pytest.skip("../shared/markets is absent")
    request = MarketRequest(
        spec=str(SHARED / "markets" / "binance-2023"), symbol="BTC/USDT", timeframe="1h"
    )
    return open_market(request)[1]


def test_a_volume_profile_of_five_known_candles_is_what_a_hand_count_gives():
    candles = flat_candles([100, 101, 102, 103, 104], volumes=[10, 50, 20, 5, 15])

    profile = volume_profile(candles, bins=5, value_area=0.75)

    # 100..104 in five bins of 0.8: each price falls in its own bin, 104 in the last one.
    assert profile.edges == pytest.approx((100, 100.8, 101.6, 102.4, 103.2, 104))
    assert profile.volume == (10, 50, 20, 5, 15)
    assert profile.point_of_control == pytest.approx(101.2)
    # From the 50 bin: up to the 20 (70 of 100, short of 75), then down to the 10 (80).
    assert profile.value_area_low == pytest.approx(100.0)
    assert profile.value_area_high == pytest.approx(102.4)


def test_the_value_area_grows_towards_the_busier_neighbour():
    candles = flat_candles([100, 101, 102, 103, 104], volumes=[5, 20, 50, 10, 15])

    profile = volume_profile(candles, bins=5, value_area=0.75)

    # 50, then the 20 below (70), then the 10 above beats the 5 below (80).
    assert profile.value_area_low == pytest.approx(100.8)
    assert profile.value_area_high == pytest.approx(103.2)


def test_the_rolling_value_area_at_t_is_the_profile_of_the_window_candles_before_t():
    series = random_walk(600)

    poc, val, vah = rolling_value_area(series, window=50, bins=20, value_area=0.7)

    assert np.isnan(poc[:50]).all() and np.isnan(vah[:50]).all()
    for t in (50, 51, 333, 599):
        profile = volume_profile(series.window(t - 50, t), bins=20, value_area=0.7)
        assert (poc[t], val[t], vah[t]) == (
            profile.point_of_control,
            profile.value_area_low,
            profile.value_area_high,
        )


def test_the_rolling_value_area_at_t_ignores_candle_t_itself():
    walk = random_walk(300)
    spike = np.arange(300) == 200
    calm = flat_candles(walk.close, walk.volume)
    spiked = flat_candles(np.where(spike, 500.0, walk.close), np.where(spike, 1e6, walk.volume))

    before = rolling_value_area(calm, window=40)
    after = rolling_value_area(spiked, window=40)

    for calm_values, spiked_values in zip(before, after, strict=True):
        assert np.array_equal(calm_values[:201], spiked_values[:201], equal_nan=True)
    assert after[0][201] > 400  # from the next candle on, the spike is the point of control


def test_a_swing_high_becomes_resistance_only_pivot_candles_after_it():
    closes = [100.0] * 10 + [104, 110, 106, 103, 101, 102, 103]
    pivot = 3

    _, resistance = support_resistance(flat_candles(closes), window=20, pivot=pivot)

    peak = 11
    assert np.isnan(resistance[: peak + pivot]).all()
    assert resistance[peak + pivot] == 110
    assert (resistance[peak + pivot :] == 110).all()


def test_a_swing_low_becomes_support_only_pivot_candles_after_it():
    closes = [100.0] * 10 + [96, 90, 94, 97, 99, 98]
    pivot = 2

    support, _ = support_resistance(flat_candles(closes), window=20, pivot=pivot)

    trough = 11
    # The flat 100s are swing lows too, but above every close from candle 10 on.
    assert np.isnan(support[10 : trough + pivot]).all()
    assert (support[trough + pivot :] == 90).all()


def test_a_level_older_than_the_window_no_longer_counts():
    closes = [100.0] * 5 + [110] + [100.0] * 20

    _, resistance = support_resistance(flat_candles(closes), window=10, pivot=2)

    assert (resistance[7:16] == 110).all()
    assert np.isnan(resistance[16:]).all()


def test_swing_points_flag_the_pivot_candle_and_need_pivot_candles_on_each_side():
    closes = [5.0, 4, 3.5, 9, 3, 2, 1, 8, 2]

    is_high, is_low = swing_points(flat_candles(closes), pivot=2)

    assert np.flatnonzero(is_high).tolist() == [3]  # 7 (the 8) has one candle after it
    assert np.flatnonzero(is_low).tolist() == [6]


def test_the_levels_now_are_the_nearest_first_and_agree_with_the_last_candle():
    series = random_walk(2000, seed=9)

    now = levels_now(series, window=200, pivot=4, count=3)
    support, resistance = support_resistance(series, window=200, pivot=4)

    assert now.close == series.close[-1]
    assert now.supports[0] == support[-1] and now.resistances[0] == resistance[-1]
    assert list(now.supports) == sorted(now.supports, reverse=True)
    assert list(now.resistances) == sorted(now.resistances)
    assert all(s < now.close for s in now.supports)
    assert all(r > now.close for r in now.resistances)
    assert now.value_area_low <= now.point_of_control <= now.value_area_high


@needs_shared
@pytest.mark.parametrize("cut", [1, 11, 150, 2000, 8000])
def test_levels_up_to_t_are_unchanged_when_the_future_is_cut(btc_2023, cut):
    full_sr = support_resistance(btc_2023, window=100, pivot=5)
    full_va = rolling_value_area(btc_2023, window=120, bins=24)

    part = btc_2023.window(0, cut)
    cut_sr = support_resistance(part, window=100, pivot=5)
    cut_va = rolling_value_area(part, window=120, bins=24)

    for whole, head in zip((*full_sr, *full_va), (*cut_sr, *cut_va), strict=True):
        assert np.array_equal(whole[:cut], head, equal_nan=True)


def test_a_hundred_thousand_candles_take_well_under_two_seconds():
    series = random_walk(100_000)

    start = time.perf_counter()
    rolling_value_area(series, window=120, bins=24)
    support_resistance(series, window=100, pivot=5)
    elapsed = time.perf_counter() - start

    assert elapsed < 2.0, f"{elapsed:.2f} s"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: volume_profile(s, bins=1), "bins"),
        (lambda s: volume_profile(s, value_area=0.0), "value_area"),
        (lambda s: volume_profile(s.window(0, 0)), "at least one candle"),
        (lambda s: rolling_value_area(s, window=1), "window"),
        (lambda s: support_resistance(s, window=5, pivot=5), "longer than pivot"),
        (lambda s: support_resistance(s, pivot=0), "pivot"),
        (lambda s: levels_now(s, count=0), "count"),
    ],
)
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call(random_walk(50))
