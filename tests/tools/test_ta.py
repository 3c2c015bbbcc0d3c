"""Whole-series indicators: TA-Lib's values, hand-checked cases, the decision cycle's regime, and
no look-ahead for any of them (the value at t is unchanged when the future is cut)."""

import math

import numpy as np
import pytest
import talib
from annotated_types import Ge, Le

from core.market.history import MarketHistory
from core.market.series import CandleSeries
from core.market.source import MarketRequest, open_market
from core.market.synthetic import generate_synthetic
from core.types import Regime
from tests.conftest import SHARED, needs_shared
from tests.support import info, series_from_closes
from tools.features import compute_features
from tools.indicators import MIN_BARS
from tools.rolling_stats import candles_per_year, rolling_correlation
from tools.ta import INDICATORS, REGIME_CODES, compute_indicator, decode_regimes

RECORDING = SHARED / "markets" / "binance-2020-09_2021-10"
"""1h candles with exchange gaps and a zero-volume candle, five pairs aligned candle for candle."""


def _recorded(symbol: str = "ETH/USDT", timeframe: str = "1h") -> CandleSeries:
    _, series = open_market(MarketRequest(spec=str(RECORDING), symbol=symbol, timeframe=timeframe))
    return series


def _synthetic() -> CandleSeries:
    return generate_synthetic(5, bars=3000)


def _direct_talib(name: str, s: CandleSeries) -> dict[str, np.ndarray]:
    """What TA-Lib itself says for each TA-Lib-backed indicator, with non-default parameters."""
    hlc = (s.high, s.low, s.close)
    if name == "sma":
        return {"sma": talib.SMA(s.close, timeperiod=30)}
    if name == "ema":
        return {"ema": talib.EMA(s.close, timeperiod=30)}
    if name == "rsi":
        return {"rsi": talib.RSI(s.close, timeperiod=7)}
    if name == "macd":
        return dict(zip(("macd", "signal", "hist"), talib.MACD(s.close, 8, 21, 5), strict=True))
    if name == "bbands":
        bands = talib.BBANDS(s.close, timeperiod=30, nbdevup=1.5, nbdevdn=2.5, matype=0)
        return dict(zip(("upper", "middle", "lower"), bands, strict=True))
    if name == "atr":
        return {"atr": talib.ATR(*hlc, timeperiod=7)}
    if name == "natr":
        return {"natr": talib.NATR(*hlc, timeperiod=7)}
    if name == "stoch":
        stoch = talib.STOCH(*hlc, fastk_period=9, slowk_period=4, slowd_period=2)
        return dict(zip(("slowk", "slowd"), stoch, strict=True))
    if name == "adx":
        return {
            "adx": talib.ADX(*hlc, timeperiod=7),
            "plus_di": talib.PLUS_DI(*hlc, timeperiod=7),
            "minus_di": talib.MINUS_DI(*hlc, timeperiod=7),
        }
    if name == "obv":
        return {"obv": talib.OBV(s.close, s.volume)}
    if name == "mfi":
        return {"mfi": talib.MFI(*hlc, s.volume, timeperiod=7)}
    if name == "roc":
        return {"roc": talib.ROC(s.close, timeperiod=7)}
    return {name: getattr(talib, name.upper())(*hlc, timeperiod=7)}  # cci, willr


TALIB_PARAMS = {
    "sma": {"period": 30},
    "ema": {"period": 30},
    "rsi": {"period": 7},
    "macd": {"fast": 8, "slow": 21, "signal": 5},
    "bbands": {"period": 30, "nbdev_up": 1.5, "nbdev_dn": 2.5},
    "atr": {"period": 7},
    "natr": {"period": 7},
    "stoch": {"fastk_period": 9, "slowk_period": 4, "slowd_period": 2},
    "adx": {"period": 7},
    "obv": {},
    "cci": {"period": 7},
    "mfi": {"period": 7},
    "willr": {"period": 7},
    "roc": {"period": 7},
}


@needs_shared
@pytest.mark.parametrize("name", sorted(TALIB_PARAMS))
def test_a_talib_backed_indicator_gives_talibs_values_on_a_recording(name):
    series = _recorded("SOL/USDT")

    mine = compute_indicator(name, series, **TALIB_PARAMS[name])

    expected = _direct_talib(name, series)
    assert list(mine) == list(expected)
    for column, values in expected.items():
        assert np.array_equal(mine[column], values, equal_nan=True), column
        assert not np.isnan(values[-1]), f"{column} never warmed up"


def test_sma_of_one_to_five_over_three_is_the_running_middle_value():
    series = series_from_closes([1.0, 2.0, 3.0, 4.0, 5.0])

    sma = compute_indicator("sma", series, period=3)["sma"]

    assert np.array_equal(sma, [np.nan, np.nan, 2.0, 3.0, 4.0], equal_nan=True)


def test_rsi_of_a_strictly_rising_series_is_100_after_its_warmup():
    series = series_from_closes(np.arange(100.0, 140.0))

    rsi = compute_indicator("rsi", series, period=14)["rsi"]

    assert np.isnan(rsi[:14]).all()
    assert np.all(rsi[14:] == 100.0)


def test_obv_adds_volume_on_up_closes_and_subtracts_it_on_down_closes():
    series = series_from_closes([10.0, 11.0, 10.5, 10.5, 12.0])
    series = CandleSeries(**{**series.__dict__, "volume": np.array([1.0, 2.0, 3.0, 4.0, 5.0])})

    obv = compute_indicator("obv", series)["obv"]

    assert obv.tolist() == [1.0, 3.0, 0.0, 0.0, 5.0]


def test_realized_volatility_of_constant_log_returns_is_zero():
    series = series_from_closes(100.0 * np.exp(0.01 * np.arange(60)))

    vol = compute_indicator("realized_volatility", series, window=20)["realized_volatility"]

    assert np.isnan(vol[:20]).all()
    assert vol[20:] == pytest.approx(0.0, abs=1e-12)


def test_realized_volatility_of_alternating_returns_is_their_size_annualized_on_request():
    closes = 100.0 * np.exp(np.cumsum([0.0] + [0.02, -0.02] * 10))
    series = series_from_closes(closes)

    per_candle = compute_indicator("realized_volatility", series, window=4)
    yearly = compute_indicator(
        "realized_volatility", series, window=4, candles_per_year=candles_per_year("1h")
    )

    assert per_candle["realized_volatility"][4:] == pytest.approx(0.02, rel=1e-9)
    assert yearly["realized_volatility"][4:] == pytest.approx(0.02 * math.sqrt(8760), rel=1e-9)


def test_the_regime_of_a_steady_rise_is_trend_up_and_nan_decodes_as_warmup():
    rng = np.random.default_rng(3)
    closes = 100 * np.exp(np.cumsum(0.004 + 0.002 * rng.standard_normal(300)))

    codes = compute_indicator("regime", series_from_closes(closes))["regime"]

    regimes = decode_regimes(codes)
    assert set(regimes[:48]) == {Regime.WARMUP}
    assert regimes[-1] is Regime.TREND_UP
    assert REGIME_CODES[int(codes[-1])] is Regime.TREND_UP


def _cycle_regimes(series: CandleSeries) -> list[Regime]:
    """The decision cycle's regime after every candle, replayed one candle at a time."""
    history = MarketHistory(info(), capacity=len(series))
    regimes = []
    for i in range(len(series)):
        history.append(series.candle(i))
        regimes.append(compute_features(history).regime)
    return regimes


@pytest.mark.parametrize("source", ["recorded", "synthetic"])
def test_the_regime_column_is_the_decision_cycles_regime_at_every_candle(source):
    if source == "recorded" and not RECORDING.is_dir():
        pytest.skip("../shared/markets is absent: recorded-market tests need it")
    series = (_recorded("BTC/USDT") if source == "recorded" else _synthetic()).window(0, 2500)

    column = decode_regimes(compute_indicator("regime", series)["regime"])

    cycle = _cycle_regimes(series)
    assert column[MIN_BARS - 1 :] == cycle[MIN_BARS - 1 :]
    assert len(set(cycle)) >= 4, "the stretch should visit most regimes"


CUTS = (3, 20, 40, 100, 777, 1500, 2998)


def _assert_causal(name: str, series: CandleSeries) -> None:
    full = compute_indicator(name, series)
    for t in CUTS:
        cut = compute_indicator(name, series.window(0, t + 1))
        for column, values in cut.items():
            assert np.array_equal(values, full[column][: t + 1], equal_nan=True), (column, t)


@needs_shared
@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_an_indicator_at_t_is_unchanged_when_the_future_of_a_recording_is_cut(name):
    _assert_causal(name, _recorded("ETH/USDT").window(0, 3000))


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_an_indicator_at_t_is_unchanged_when_the_future_of_a_synthetic_market_is_cut(name):
    _assert_causal(name, _synthetic())


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_every_indicator_returns_its_columns_over_the_whole_series(name):
    series = _synthetic()

    columns = compute_indicator(name, series)

    assert tuple(columns) == INDICATORS[name].outputs
    assert all(c.shape == (len(series),) and c.dtype == np.float64 for c in columns.values())
    assert all(not np.isnan(c[-1]) for c in columns.values())


@pytest.mark.parametrize("name", sorted(set(INDICATORS) - {"obv"}))
@pytest.mark.parametrize("candles", [0, 1, 2])
def test_a_series_shorter_than_the_warmup_gives_columns_of_nan(name, candles):
    series = _synthetic().window(0, candles)

    columns = compute_indicator(name, series)

    assert all(c.shape == (candles,) and np.isnan(c).all() for c in columns.values())


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_every_numeric_parameter_is_bounded_and_described(name):
    indicator = INDICATORS[name]

    fields = indicator.params.model_fields

    assert indicator.description
    for field_name, field in fields.items():
        assert field.description, field_name
        assert any(isinstance(m, Ge) for m in field.metadata), f"{field_name} has no lower bound"
        assert any(isinstance(m, Le) for m in field.metadata), f"{field_name} has no upper bound"


def test_an_unknown_indicator_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match=r"unknown indicator 'rsx': use one of adx, atr, .*rsi"):
        compute_indicator("rsx", _synthetic())


@pytest.mark.parametrize(
    ("name", "params", "complaint"),
    [
        (
            "rsi",
            {"period": 1},
            r"period=1: .*greater than or equal to 2; valid parameters: period \(int 2\.\.500",
        ),
        ("rsi", {"period": 501}, r"period=501: .*less than or equal to 500"),
        ("rsi", {"length": 14}, r"length=14: Extra inputs are not permitted"),
        ("macd", {"fast": 26, "slow": 12}, r"slow \(12\) must be greater than fast \(26\)"),
        ("obv", {"period": 3}, r"valid parameters: none"),
        ("realized_volatility", {"candles_per_year": math.inf}, r"finite number"),
    ],
)
def test_bad_parameters_are_refused_in_one_line_naming_the_parameter(name, params, complaint):
    with pytest.raises(ValueError, match=complaint) as refused:
        compute_indicator(name, _synthetic(), **params)

    assert str(refused.value).startswith(f"bad parameters for {name}: ")
    assert "\n" not in str(refused.value)


def _log_return_windows(closes: np.ndarray, t: int, window: int) -> np.ndarray:
    returns = np.diff(np.log(closes), axis=0)
    return returns[t - window : t]


@needs_shared
def test_rolling_correlation_matches_numpy_corrcoef_of_the_window_ending_at_t():
    symbols = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")
    closes = {symbol: _recorded(symbol).close for symbol in symbols}
    stacked = np.stack(list(closes.values()), axis=1)

    matrices = rolling_correlation(closes, window=72)

    assert matrices.shape == (len(stacked), 4, 4)
    assert np.isnan(matrices[:72]).all()
    for t in (72, 1000, 5555, len(stacked) - 1):
        expected = np.corrcoef(_log_return_windows(stacked, t, 72), rowvar=False)
        np.testing.assert_allclose(matrices[t], expected, rtol=0, atol=1e-9)


@needs_shared
def test_rolling_correlation_at_t_is_unchanged_when_the_future_is_cut():
    closes = np.stack([_recorded(s).close for s in ("BTC/USDT", "ETH/USDT", "BNB/USDT")], 1)
    full = rolling_correlation(closes, window=48)

    for t in (10, 48, 49, 2000, 9000):
        cut = rolling_correlation(closes[: t + 1], window=48)

        assert np.array_equal(cut, full[: t + 1], equal_nan=True), t


def test_a_market_flat_over_the_window_has_no_correlation_there():
    rng = np.random.default_rng(8)
    moving = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(200)))
    flat = moving.copy()
    flat[100:150] = flat[99]

    matrices = rolling_correlation({"A": moving, "B": flat}, window=20)

    flat_windows = slice(119, 150)  # the 20 returns ending at t are all zero
    assert np.isnan(matrices[flat_windows, 1, :]).all()
    assert np.isnan(matrices[flat_windows, :, 1]).all()
    assert np.all(matrices[flat_windows, 0, 0] == 1.0)
    assert not np.isnan(matrices[118]).any() and not np.isnan(matrices[150]).any()


@pytest.mark.parametrize(
    ("closes", "window", "complaint"),
    [
        ({"A": np.ones(10), "B": np.ones(9)}, 5, "one length"),
        ({"A": np.array([1.0, 0.0, 2.0])}, 2, "finite and positive"),
        (np.ones(10), 5, r"\(n candles, k markets\)"),
        ({}, 5, "at least one market"),
        (np.ones((10, 2)), 1, "at least 2"),
    ],
)
def test_rolling_correlation_refuses_inputs_it_cannot_read(closes, window, complaint):
    with pytest.raises(ValueError, match=complaint):
        rolling_correlation(closes, window)
