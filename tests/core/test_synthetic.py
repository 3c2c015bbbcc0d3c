"""The synthetic market: deterministic, internally consistent, and crypto-like where it counts."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.errors import UserError
from core.market.synthetic import (
    DEFAULT_START_MS,
    SyntheticRegime,
    generate_synthetic,
    simulate_market,
)
from core.types import timeframe_seconds


def _log_returns(close: np.ndarray) -> np.ndarray:
    return np.diff(np.log(close))


def test_same_seed_gives_identical_arrays() -> None:
    first = generate_synthetic(11, bars=3000)
    second = generate_synthetic(11, bars=3000)

    for column in ("ts", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(first, column), getattr(second, column))


def test_different_seeds_give_different_markets() -> None:
    a = generate_synthetic(1, bars=500)
    b = generate_synthetic(2, bars=500)

    assert not np.array_equal(a.close, b.close)
    assert not np.array_equal(a.volume, b.volume)


def test_more_bars_extend_the_same_market() -> None:
    short = generate_synthetic(5, bars=700)
    long = generate_synthetic(5, bars=2000)

    np.testing.assert_array_equal(short.close, long.close[:700])
    np.testing.assert_array_equal(short.high, long.high[:700])
    np.testing.assert_array_equal(short.volume, long.volume[:700])


@pytest.mark.parametrize("timeframe", ["1m", "5m", "1h", "1d"])
def test_candles_are_consistent_ohlc(timeframe: str) -> None:
    s = generate_synthetic(3, timeframe=timeframe, bars=20_000)

    assert np.all(s.high >= np.maximum(s.open, s.close))
    assert np.all(s.low <= np.minimum(s.open, s.close))
    assert np.all(s.low > 0)
    assert np.all(s.volume > 0)
    np.testing.assert_array_equal(s.open[1:], s.close[:-1])
    assert np.all(np.isfinite(np.stack([s.open, s.high, s.low, s.close, s.volume])))


def test_timestamps_start_where_asked_and_step_by_the_timeframe() -> None:
    start = DEFAULT_START_MS + 86_400_000

    s = generate_synthetic(7, timeframe="4h", bars=100, start_ms=start)

    assert s.ts.dtype == np.int64
    assert s.ts[0] == start
    assert set(np.diff(s.ts).tolist()) == {4 * 3_600_000}


def test_default_series_is_2000_hourly_bars_from_2024() -> None:
    s = generate_synthetic(7)

    assert len(s) == 2000
    assert s.ts[0] == DEFAULT_START_MS == 1_704_067_200_000
    assert s.ts[1] - s.ts[0] == 3_600_000


def test_returns_are_fat_tailed() -> None:
    r = _log_returns(generate_synthetic(21, bars=50_000).close)

    excess_kurtosis = np.mean((r - r.mean()) ** 4) / r.var() ** 2 - 3.0

    assert excess_kurtosis > 1.0


def test_volatility_clusters() -> None:
    r = np.abs(_log_returns(generate_synthetic(21, bars=50_000).close))

    lag1 = np.corrcoef(r[:-1], r[1:])[0, 1]
    lag10 = np.corrcoef(r[:-10], r[10:])[0, 1]

    assert lag1 > 0.05
    assert lag10 > 0.0


def test_volume_rises_with_absolute_return() -> None:
    s = generate_synthetic(8, bars=20_000)

    corr = np.corrcoef(np.abs(_log_returns(s.close)), s.volume[1:])[0, 1]

    assert corr > 0.3


def test_all_regimes_appear_and_each_moves_its_own_way() -> None:
    market = simulate_market(4, bars=50_000)
    r = _log_returns(market.series.close)
    regime = market.regimes[1:]

    assert set(np.unique(market.regimes).tolist()) == {int(g) for g in SyntheticRegime}
    mean = {g: r[regime == g].mean() for g in SyntheticRegime}
    vol = {g: r[regime == g].std() for g in SyntheticRegime}
    assert mean[SyntheticRegime.BULL] > 0 > mean[SyntheticRegime.BEAR]
    assert vol[SyntheticRegime.TURBULENT] > vol[SyntheticRegime.BULL] > vol[SyntheticRegime.RANGE]


@pytest.mark.parametrize("timeframe", ["5m", "1h", "4h", "1d"])
def test_annualized_volatility_is_crypto_like_at_every_timeframe(timeframe: str) -> None:
    r = _log_returns(generate_synthetic(2, timeframe=timeframe, bars=60_000).close)

    annualized = r.std() * np.sqrt(365 * 86_400 / timeframe_seconds(timeframe))

    assert 0.5 < annualized < 0.95


def test_hundred_thousand_bars_take_well_under_a_second() -> None:
    began = time.process_time()  # CPU time: other processes on the machine do not count
    s = generate_synthetic(1, bars=100_000)
    elapsed = time.process_time() - began

    assert len(s) == 100_000
    assert elapsed < 0.5


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"bars": 0}, "bars must be at least 1"),
        ({"timeframe": "7x"}, "unknown timeframe"),
        ({"seed": -1}, "negative"),
    ],
)
def test_bad_arguments_raise_a_user_error(kwargs: dict[str, object], fragment: str) -> None:
    args: dict[str, object] = {"seed": 1, **kwargs}
    seed = args.pop("seed")

    with pytest.raises(UserError, match=fragment):
        generate_synthetic(seed, **args)  # type: ignore[arg-type]


def test_a_synthetic_series_with_a_price_at_zero_is_refused_like_a_recorded_file():
    import numpy as np
    import pytest

    from core.errors import DataError
    from core.market.series import CandleSeries
    from core.market.synthetic import _check_series, generate_synthetic

    good = generate_synthetic(3, bars=50)
    close = good.close.copy()
    close[20] = 0.0
    broken = CandleSeries(
        good.ts,
        good.open,
        good.high,
        np.minimum(good.low, close),
        close,
        good.volume,
    )

    with pytest.raises(
        DataError, match=r"row 21: low price 0 is not positive: .* shorter --timeframe"
    ):
        _check_series(broken, 3, "1h")
