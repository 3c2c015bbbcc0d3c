import numpy as np

from core.market.history import MarketHistory
from core.types import Regime
from tests.support import history_of, info, series_from_closes
from tools.features import compute_features
from tools.indicators import MIN_BARS


def _trend(n: int, slope: float) -> np.ndarray:
    rng = np.random.default_rng(3)
    return 100 * np.exp(np.cumsum(slope + 0.002 * rng.standard_normal(n)))


def test_features_are_not_ready_during_warmup():
    history = history_of(series_from_closes(_trend(MIN_BARS - 1, 0.001)))

    features = compute_features(history)

    assert features.ready is False
    assert features.regime is Regime.WARMUP


def test_steady_rise_reads_as_uptrend():
    history = history_of(series_from_closes(_trend(300, 0.004)))

    features = compute_features(history)

    assert features.ready
    assert features.regime is Regime.TREND_UP
    assert features.ema_fast > features.ema_slow
    assert features.rsi_14 > 50


def test_steady_fall_reads_as_downtrend():
    history = history_of(series_from_closes(_trend(300, -0.004)))

    assert compute_features(history).regime is Regime.TREND_DOWN


def test_features_at_t_are_the_same_during_a_long_replay_and_on_the_prefix_alone():
    full = series_from_closes(_trend(400, 0.001))
    replayed = MarketHistory(info())
    seen = {}
    for i in range(len(full)):
        replayed.append(full.candle(i))
        if i in (99, 249, 399):
            seen[i] = compute_features(replayed)

    for i, features in seen.items():
        assert compute_features(history_of(full.window(0, i + 1))) == features


def test_feature_vector_has_fixed_bounded_dimensions():
    features = compute_features(history_of(series_from_closes(_trend(300, 0.01))))

    vector = features.vector()

    assert len(vector) == 8
    assert all(-1.0 <= x <= 1.0 for x in vector)
