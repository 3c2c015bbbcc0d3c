"""Hand-checked entries and exits: constructed candles where the rule says exactly when to be long.

Each case states, in its comments, the arithmetic that fixes the expected candles.
"""

import numpy as np
import pytest
import talib

from core.market.series import CandleSeries
from tests.support import HOUR_MS, T0, flat_candles
from tools.strategies import STRATEGIES
from tools.strategies.pairs import cointegration, spread_zscore

ALTERNATING = [100.0 + (i % 2) for i in range(60)]
"""A quiet market: 100, 101, 100, ... (mean 100.5, deviation 0.5)."""


def long_at(name: str, candles: CandleSeries, **params) -> list[int]:
    strategy = STRATEGIES[name]
    return np.flatnonzero(strategy.want(candles, strategy.params(**params))).tolist()


def ranged_candles(high, low, close) -> CandleSeries:
    close = np.asarray(close, dtype=np.float64)
    return CandleSeries(
        ts=T0 + HOUR_MS * np.arange(close.size, dtype=np.int64),
        open=close.copy(),
        high=np.asarray(high, dtype=np.float64),
        low=np.asarray(low, dtype=np.float64),
        close=close,
        volume=np.full(close.size, 10.0),
    )


def test_zscore_buys_the_plunge_and_sells_back_at_the_mean():
    # 90 after a 100/101 market is ~4 deviations under the mean; the next close, 101, is above it.
    closes = [*ALTERNATING, 90.0, 101.0, *ALTERNATING[:20]]

    assert long_at("zscore_reversion", flat_candles(closes), window=20, entry_z=2.0) == [60]
    assert long_at("zscore_reversion", flat_candles([*ALTERNATING, 111.0, 101.0])) == []


def test_momentum_is_long_while_the_rise_is_inside_the_lookback():
    # A 2% step at candle 30: ROC(20) is 2% on candles 30..49, then 0% once 30 is 20 back.
    closes = [100.0] * 30 + [102.0] * 40

    assert long_at("momentum", flat_candles(closes), lookback=20) == list(range(30, 50))
    assert long_at("momentum", flat_candles(closes), lookback=20, threshold_pct=3.0) == []
    # The trend filter: the close is above its 10-candle SMA until all ten are 102 (candle 39).
    filtered = long_at("momentum", flat_candles(closes), lookback=20, trend_period=10)
    assert filtered == list(range(30, 39))


def _pair(shock: float, at: int = 150, n: int = 220) -> tuple[CandleSeries, CandleSeries]:
    """log(first) = 2 log(partner) + a 0.001 wobble, with `shock` added at candle `at` only."""
    rng = np.random.default_rng(3)
    log_partner = np.log(100.0) + np.cumsum(rng.normal(0, 0.01, n))
    wobble = np.where(np.arange(n) % 2 == 0, 0.001, -0.001)
    log_first = 2 * log_partner - np.log(100.0) + wobble + np.where(np.arange(n) == at, shock, 0)
    return flat_candles(np.exp(log_first)), flat_candles(np.exp(log_partner))


def test_pairs_buys_the_first_leg_only_on_the_candle_it_lags_its_partner():
    # A 5% drop of the first leg against the fit is dozens of wobbles under it; one candle
    # later the wobble is back and the residual above the (shock-lowered) fit: z > 0, exit.
    first, partner = _pair(shock=-0.05)

    want = STRATEGIES["pairs"].want(first, STRATEGIES["pairs"].params(window=50), partner)

    assert np.flatnonzero(want).tolist() == [150]


def test_pairs_never_buys_a_first_leg_that_is_rich_against_its_partner():
    first, partner = _pair(shock=+0.05)

    want = STRATEGIES["pairs"].want(first, STRATEGIES["pairs"].params(window=50), partner)

    assert not want.any()


def test_the_spread_fit_follows_the_hedge_ratio_so_a_common_move_is_no_signal():
    first, partner = _pair(shock=0.0)

    z = spread_zscore(first, partner, window=50)

    # Only the wobble is left: about one deviation either side, whatever the partner did.
    assert np.isnan(z[:49]).all()
    assert np.nanmax(np.abs(z)) < 1.5


def test_cointegration_finds_the_constructed_pair_and_its_hedge_ratio():
    rng = np.random.default_rng(8)
    log_partner = np.log(50.0) + np.cumsum(rng.normal(0, 0.01, 600))
    noise = np.zeros(600)
    for t in range(1, 600):  # a stationary AR(1) spread
        noise[t] = 0.8 * noise[t - 1] + rng.normal(0, 0.005)
    first = flat_candles(np.exp(0.3 + 1.5 * log_partner + noise))
    other = flat_candles(np.exp(np.log(50.0) + np.cumsum(rng.normal(0, 0.01, 600))))

    paired = cointegration(first, flat_candles(np.exp(log_partner)))
    unrelated = cointegration(first, other)

    assert paired.p_value < 0.01 and paired.t_stat < paired.critical_values[0]
    assert paired.hedge_ratio == pytest.approx(1.5, abs=0.03)
    assert paired.intercept == pytest.approx(0.3, abs=0.1)
    assert unrelated.p_value > 0.1


def test_cointegration_refuses_markets_of_different_lengths():
    with pytest.raises(ValueError, match="align"):
        cointegration(flat_candles([1.0] * 40), flat_candles([1.0] * 41))


def test_bollinger_buys_under_the_lower_band_and_sells_at_the_middle():
    # 95 is under the lower band (~97.7); 98 is still under the middle (~100.1); 101 is above.
    closes = [*ALTERNATING[:40], 95.0, 98.0, 101.0, *ALTERNATING[:10]]

    assert long_at("bollinger", flat_candles(closes)) == [40, 41]


def _divergence_closes() -> list[float]:
    """Swing low 81 at candle 39 after a steep fall (RSI ~16), a bounce, then a choppy fall to a
    lower swing low 80 at candle 58 (RSI ~33), then a rise and a +10 jump at candle 64."""
    closes = list(ALTERNATING[:30])
    closes += [closes[-1] - 2 * (k + 1) for k in range(10)]
    closes += [closes[-1] + 1.5 * (k + 1) for k in range(10)]
    for step in (-4, 1, -4, 1, -4, 1, -4, 1, -4):
        closes.append(closes[-1] + step)
    low = closes[-1]
    closes += [low + 3, low + 5, low + 6, low + 6.5, low + 7, low + 17, low + 17]
    return closes


def test_rsi_divergence_enters_when_the_second_low_is_confirmed_and_not_before():
    candles = flat_candles(_divergence_closes())
    rsi = talib.RSI(candles.close, timeperiod=14)
    assert candles.close[58] < candles.close[39] and rsi[39] < rsi[58] < 40  # the setup

    # Confirmed by the three candles after 58: long from 61; RSI passes 60 at the jump (64).
    assert long_at("rsi_divergence", candles, pivot=3) == [61, 62, 63]
    assert long_at("rsi_divergence", candles.window(0, 61), pivot=3) == []
    assert long_at("rsi_divergence", candles, pivot=3, max_hold=2) == [61, 62]


def test_rsi_divergence_ignores_lows_too_far_apart_or_an_rsi_not_low_enough():
    candles = flat_candles(_divergence_closes())

    assert long_at("rsi_divergence", candles, lookback=15) == []  # the lows are 19 apart
    assert long_at("rsi_divergence", candles, rsi_level=30.0, exit_rsi=60.0) == []


def test_macd_turns_long_on_the_first_rising_candle_after_a_flat_market():
    # Flat: both EMAs are exactly 100, line = signal = 0. The first rise lifts the fast EMA
    # more than the slow, and the line more than its own average.
    closes = [100.0] * 60 + [100.0 + k for k in range(1, 11)]

    assert long_at("macd_signal", flat_candles(closes)) == list(range(60, 70))


def test_macd_above_zero_skips_a_bounce_inside_a_downtrend():
    # After 100 falling candles the line is steady (about -7) and its signal line equal to it;
    # a 3-candle bounce lifts the line above its signal line but not above zero.
    closes = [200.0 - k for k in range(100)] + [102.0, 104.0, 106.0]

    assert long_at("macd_signal", flat_candles(closes)) == [100, 101, 102]
    assert long_at("macd_signal", flat_candles(closes), above_zero=True) == []


STOCH_FAST = {"fastk": 3, "slowk": 1, "slowd": 2}
"""%K is the raw 3-candle stochastic, %D its 2-candle mean: simple enough to work by hand."""


def _falling(n: int = 20) -> tuple[list[float], list[float], list[float]]:
    """Candle t spans 98-t .. 100-t and closes at 98.2-t: %K = 0.2 / 4 = 5% every candle."""
    return (
        [100.0 - t for t in range(n)],
        [98.0 - t for t in range(n)],
        [98.2 - t for t in range(n)],
    )


def _stoch_case(*candles: tuple[float, float, float]) -> CandleSeries:
    high, low, close = _falling()
    for h, lo, c in candles:
        high.append(h)
        low.append(lo)
        close.append(c)
    return ranged_candles(high, low, close)


def test_stochastic_buys_a_cross_up_in_the_oversold_zone_and_sells_the_cross_down():
    # 20: close 79.2 in the 3-candle range 78..82: %K 30 > %D 17.5 (< 20), a cross up.
    # 21: close 80 in 78..81: %K 66.7 > %D 48.3, hold. 22: close 76 at the low: %K 0, cross down.
    candles = _stoch_case((79.2, 78.0, 79.2), (80.0, 78.5, 80.0), (77.0, 76.0, 76.0))

    assert long_at("stochastic", candles, **STOCH_FAST) == [20, 21]


def test_stochastic_sells_when_overbought_even_above_d():
    # 21: close 82.5 is the top of the range 78..82.5: %K 100 > 80.
    candles = _stoch_case((79.2, 78.0, 79.2), (82.5, 78.5, 82.5), (82.0, 81.0, 81.5))

    assert long_at("stochastic", candles, **STOCH_FAST) == [20]


def test_stochastic_ignores_a_cross_up_above_the_oversold_zone():
    # 20: close 81.2 in 78..82: %K 80, %D 42.5: a cross up, but not oversold.
    candles = _stoch_case((81.2, 78.0, 81.2), (80.0, 79.0, 79.5))

    assert long_at("stochastic", candles, **STOCH_FAST) == []


def _profile_case(breakout_volume: float) -> CandleSeries:
    """99/101 alternating (volume 10), then 103 on `breakout_volume`, 102, and 98."""
    closes = [99.0 + 2 * (i % 2) for i in range(20)] + [103.0, 102.0, 98.0, 100.0, 100.0]
    volumes = [10.0] * 20 + [breakout_volume] + [10.0] * 4
    return flat_candles(closes, volumes)


def test_volume_profile_breakout_buys_above_value_on_volume_and_sells_under_the_poc():
    # Candle 20: the prior profile is 99 and 101 (value area high 101); 103 on twice the mean
    # volume breaks out. 21: POC of 11..20 is the 101 bin (101.0), 102 holds. 22: POC is the
    # 99 bin (99.4; 99 and 101 tie at 40, the lower bin wins), 98 is under it.
    params = {"window": 10, "bins": 5, "volume_factor": 1.5}

    assert long_at("volume_profile_breakout", _profile_case(20.0), **params) == [20, 21]
    assert long_at("volume_profile_breakout", _profile_case(10.0), **params) == []
    quiet_ok = params | {"volume_factor": 0.0}
    assert long_at("volume_profile_breakout", _profile_case(10.0), **quiet_ok) == [20, 21]


SR_PARAMS = {"window": 20, "pivot": 2, "margin_pct": 0.0, "exit_channel": 5}


def test_breakout_buys_a_close_through_confirmed_resistance_and_sells_the_channel_low():
    # The 110 swing high (11) is confirmed at 13; 108 (17) is under it and 112 (18) breaks it.
    # At 22, 106 is under the lowest low of 17..21 (108): out.
    closes = [100.0] * 10 + [105, 110, 105, 102, 100, 101, 103, 108, 112, 113, 114, 111, 106, 104]

    assert long_at("support_resistance_breakout", flat_candles(closes), **SR_PARAMS) == [
        18,
        19,
        20,
        21,
    ]
    strict = SR_PARAMS | {"margin_pct": 2.0}  # 112 does not clear 110 by 2% (112.2)
    assert long_at("support_resistance_breakout", flat_candles(closes), **strict) == []


def test_breakout_sells_a_close_under_the_nearest_confirmed_support():
    # The 110 high (21) is confirmed at 23 and broken at 28. 111 at 30 is a swing low confirmed
    # at 32; 110 at 34 is under it, while the 20-candle channel low is still 100.
    closes = [100.0] * 20 + [105, 110, 105, 102, 100, 101, 103, 108, 112, 113, 111, 114, 115]
    closes = [*closes, 113, 110, 112]
    wide = SR_PARAMS | {"exit_channel": 20, "window": 30}

    assert long_at("support_resistance_breakout", flat_candles(closes), **wide) == [
        28,
        29,
        30,
        31,
        32,
        33,
    ]
