import math
import warnings

import numpy as np
import pytest

from core.market.history import MarketHistory
from core.market.source import MarketRequest, open_market
from core.types import Candle
from tests.conftest import needs_shared
from tests.support import (
    BTC_2023,
    HOUR_MS,
    SHARED,
    T0,
    candle,
    history_of,
    info,
    series_from_closes,
)
from tools.data_checks import check_data, check_outlier, floor_scale, outlier_scale

CRASH_1M = SHARED / "markets" / "binance-2021-05-crash-1m"


def _kinds(issues):
    return {issue.kind for issue in issues}


def test_healthy_data_has_no_issues():
    history = history_of(series_from_closes([100 + i * 0.1 for i in range(50)]))
    now = T0 + 50 * HOUR_MS

    assert check_data(history, now, max_age_periods=2) == ()


def test_old_last_candle_is_stale():
    history = history_of(series_from_closes([100.0] * 30))
    now = T0 + 30 * HOUR_MS + 3 * HOUR_MS

    assert "stale" in _kinds(check_data(history, now, max_age_periods=2))


def test_missing_candles_are_a_gap():
    history = MarketHistory(info())
    history.append(candle(T0, 100))
    history.append(candle(T0 + 4 * HOUR_MS, 100))

    issues = check_data(history, T0 + 5 * HOUR_MS, max_age_periods=2)

    assert "gap" in _kinds(issues)
    assert "3 candle(s) missing" in next(i.detail for i in issues if i.kind == "gap")


def test_flat_zero_volume_candle_is_flagged():
    history = MarketHistory(info())
    history.append(candle(T0, 100))
    history.append(Candle(ts=T0 + HOUR_MS, open=100, high=100, low=100, close=100, volume=0))

    assert "zero_volume" in _kinds(check_data(history, T0 + 2 * HOUR_MS, max_age_periods=2))


def test_crash_candle_is_an_outlier():
    closes = [100 * (1 + 0.001 * ((-1) ** i)) for i in range(60)] + [70.0]
    history = history_of(series_from_closes(closes))

    assert "outlier" in _kinds(check_data(history, T0 + 61 * HOUR_MS, max_age_periods=2))


QUIET = [100 * (1 + 0.001 * ((-1) ** i)) for i in range(720)]
"""A month of hourly closes wobbling by 0.1%: a standard deviation of about 0.2% a candle."""


def _outlier(closes, market=None):
    history = history_of(series_from_closes(closes), market)
    return check_outlier(history, jump_sigma=8.0)


def test_ordinary_3_percent_hourly_move_after_a_quiet_window_is_not_an_outlier():
    closes = [*QUIET, QUIET[-1] * 1.03]
    old_sigma = np.std(np.diff(np.log(QUIET[-97:])))

    issues = check_data(history_of(series_from_closes(closes)), T0 + 721 * HOUR_MS, 2)

    assert math.log(1.03) / old_sigma > 8, "the old 96-candle scale called this an outlier"
    assert "outlier" not in _kinds(issues)


def test_scripted_15_percent_crash_candle_after_a_quiet_window_is_an_outlier():
    issue = _outlier([*QUIET, QUIET[-1] * 0.85])

    assert issue is not None
    assert issue.detail.startswith("close moved -16.25%")


def test_one_crash_in_the_window_does_not_inflate_the_scale():
    returns = np.abs(np.random.default_rng(3).normal(0.0, 0.02, 720))
    with_crash = returns.copy()
    with_crash[100] = 0.30

    assert outlier_scale(with_crash, HOUR_MS) == pytest.approx(
        outlier_scale(returns, HOUR_MS), rel=0.01
    )


def test_flat_window_has_a_finite_scale_and_no_warnings():
    flat = [100.0] * 720
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small = _outlier([*flat, 102.0])
        crash = _outlier([*flat, 80.0])

    assert outlier_scale(np.zeros(720), HOUR_MS) == floor_scale(HOUR_MS) > 0
    assert small is None
    assert crash is not None and "inf" not in crash.detail and "nan" not in crash.detail


def test_floor_sets_the_threshold_in_a_quiet_window():
    threshold = 8.0 * floor_scale(HOUR_MS)

    below = _outlier([*QUIET, QUIET[-1] * math.exp(threshold * 0.99)])
    above = _outlier([*QUIET, QUIET[-1] * math.exp(threshold * 1.01)])

    assert 0.05 < threshold < 0.055
    assert below is None
    assert above is not None


def test_floor_grows_with_the_root_of_the_timeframe():
    assert floor_scale(4 * HOUR_MS) == pytest.approx(2 * floor_scale(HOUR_MS))
    assert floor_scale(24 * HOUR_MS) > 0.03


def test_scale_follows_a_volatile_window_above_the_floor():
    rng = np.random.default_rng(7)
    returns = np.abs(rng.normal(0.0, 0.02, 720))

    scale = outlier_scale(returns, HOUR_MS)

    assert scale == pytest.approx(0.02, rel=0.15)
    assert scale > floor_scale(HOUR_MS)


def test_too_short_a_history_has_no_outlier():
    assert _outlier([100.0] * 10 + [50.0]) is None


def _replay_outliers(path, timeframe):
    info_, series = open_market(MarketRequest(spec=str(path), timeframe=timeframe))
    history = MarketHistory(info_, capacity=len(series))
    moves = []
    for i in range(len(series)):
        history.append(series.candle(i))
        if check_outlier(history, jump_sigma=8.0) is not None:
            moves.append(float(np.log(series.close[i] / series.close[i - 1])))
    return moves


@needs_shared
def test_btc_2023_hourly_outliers_are_only_moves_beyond_5_percent():
    moves = _replay_outliers(BTC_2023, "1h")

    assert moves, "the year has a few real jumps (e.g. 17 Aug 2023)"
    assert min(abs(m) for m in moves) > 0.05


@needs_shared
def test_real_1m_crash_candle_of_19_may_2021_is_an_outlier():
    info_, series = open_market(
        MarketRequest(spec=str(CRASH_1M), symbol="BTC/USDT", timeframe="1m")
    )
    returns = np.diff(np.log(series.close))
    worst = int(np.argmin(returns)) + 1
    history = history_of(series.window(0, worst + 1), info_)

    issue = check_outlier(history, jump_sigma=8.0)

    assert returns[worst - 1] < -0.05
    assert history.ts()[-1] // 86_400_000 == 18_766  # 2021-05-19
    assert issue is not None
