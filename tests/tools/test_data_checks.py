from core.market.history import MarketHistory
from core.types import Candle
from tests.support import HOUR_MS, T0, candle, history_of, info, series_from_closes
from tools.data_checks import check_data


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
