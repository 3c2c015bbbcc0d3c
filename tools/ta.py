"""Whole-series technical indicators by name, for backtests and for the model's indicator tool.

`tools.indicators` advances a few indicators one candle at a time for the decision cycle; this
module computes any registered indicator over a whole `CandleSeries` at once, through TA-Lib
wherever TA-Lib has it. Each output is a float column as long as the series, NaN while the
indicator warms up, and causal: the value at t reads candles 0..t only, so cutting the series
after t leaves every value up to t bit for bit the same (tests/tools/test_ta.py checks this for
every entry of `INDICATORS`).

The regime column encodes `core.types.Regime` as a float so it fits the same shape: see
`REGIME_CODES` (NaN is the warm-up) and `decode_regimes`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import talib
from annotated_types import Ge, Le
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from core.market.series import CandleSeries, FloatArray
from core.types import Regime
from tools.regime import classify_regime
from tools.rolling_stats import realized_volatility, rolling_median
from tools.ta_params import (
    AtrParams,
    BbandsParams,
    IndicatorParams,
    MacdParams,
    MovingAverageParams,
    NoParams,
    PeriodParams,
    RealizedVolatilityParams,
    RegimeParams,
    RocParams,
    StochParams,
)

P = TypeVar("P", bound=IndicatorParams)

Columns = dict[str, FloatArray]

REGIME_CODES: tuple[Regime, ...] = (
    Regime.RANGE,
    Regime.TREND_UP,
    Regime.TREND_DOWN,
    Regime.HIGH_VOLATILITY,
)
"""The regime column holds the index of the candle's regime in this tuple (0 range, 1 trend up,
2 trend down, 3 high volatility), or NaN while its inputs warm up."""


@dataclass(frozen=True)
class Indicator(Generic[P]):
    """One registered indicator. `description` is one line a person or a model can act on;
    `compute` returns exactly the `outputs` columns."""

    name: str
    description: str
    params: type[P]
    outputs: tuple[str, ...]
    compute: Callable[[CandleSeries, P], Columns]


def _close(series: CandleSeries) -> FloatArray:
    return np.ascontiguousarray(series.close, dtype=np.float64)


def _hlc(series: CandleSeries) -> tuple[FloatArray, FloatArray, FloatArray]:
    return (
        np.ascontiguousarray(series.high, dtype=np.float64),
        np.ascontiguousarray(series.low, dtype=np.float64),
        _close(series),
    )


def _sma(series: CandleSeries, p: MovingAverageParams) -> Columns:
    return {"sma": talib.SMA(_close(series), timeperiod=p.period)}


def _ema(series: CandleSeries, p: MovingAverageParams) -> Columns:
    return {"ema": talib.EMA(_close(series), timeperiod=p.period)}


def _rsi(series: CandleSeries, p: PeriodParams) -> Columns:
    return {"rsi": talib.RSI(_close(series), timeperiod=p.period)}


def _macd(series: CandleSeries, p: MacdParams) -> Columns:
    macd, signal, hist = talib.MACD(
        _close(series), fastperiod=p.fast, slowperiod=p.slow, signalperiod=p.signal
    )
    return {"macd": macd, "signal": signal, "hist": hist}


def _bbands(series: CandleSeries, p: BbandsParams) -> Columns:
    upper, middle, lower = talib.BBANDS(
        _close(series),
        timeperiod=p.period,
        nbdevup=p.nbdev_up,
        nbdevdn=p.nbdev_dn,
    )
    return {"upper": upper, "middle": middle, "lower": lower}


def _atr(series: CandleSeries, p: AtrParams) -> Columns:
    return {"atr": talib.ATR(*_hlc(series), timeperiod=p.period)}


def _natr(series: CandleSeries, p: AtrParams) -> Columns:
    return {"natr": talib.NATR(*_hlc(series), timeperiod=p.period)}


def _stoch(series: CandleSeries, p: StochParams) -> Columns:
    slowk, slowd = talib.STOCH(
        *_hlc(series),
        fastk_period=p.fastk_period,
        slowk_period=p.slowk_period,
        slowd_period=p.slowd_period,
    )
    return {"slowk": slowk, "slowd": slowd}


def _adx(series: CandleSeries, p: PeriodParams) -> Columns:
    hlc = _hlc(series)
    return {
        "adx": talib.ADX(*hlc, timeperiod=p.period),
        "plus_di": talib.PLUS_DI(*hlc, timeperiod=p.period),
        "minus_di": talib.MINUS_DI(*hlc, timeperiod=p.period),
    }


def _obv(series: CandleSeries, p: NoParams) -> Columns:
    volume = np.ascontiguousarray(series.volume, dtype=np.float64)
    return {"obv": talib.OBV(_close(series), volume)}


def _cci(series: CandleSeries, p: PeriodParams) -> Columns:
    return {"cci": talib.CCI(*_hlc(series), timeperiod=p.period)}


def _mfi(series: CandleSeries, p: PeriodParams) -> Columns:
    volume = np.ascontiguousarray(series.volume, dtype=np.float64)
    return {"mfi": talib.MFI(*_hlc(series), volume, timeperiod=p.period)}


def _willr(series: CandleSeries, p: PeriodParams) -> Columns:
    return {"willr": talib.WILLR(*_hlc(series), timeperiod=p.period)}


def _roc(series: CandleSeries, p: RocParams) -> Columns:
    return {"roc": talib.ROC(_close(series), timeperiod=p.period)}


def _realized_volatility(series: CandleSeries, p: RealizedVolatilityParams) -> Columns:
    vol = realized_volatility(_close(series), p.window, p.candles_per_year)
    return {"realized_volatility": vol}


def _regime(series: CandleSeries, p: RegimeParams) -> Columns:
    """`classify_regime` at every candle, from TA-Lib's ADX and EMAs and the per-candle
    volatility against its rolling median (the ratio is what matters, so annualizing both
    would change nothing)."""
    high, low, close = _hlc(series)
    adx = talib.ADX(high, low, close, timeperiod=p.adx_period)
    fast = talib.EMA(close, timeperiod=p.ema_fast)
    slow = talib.EMA(close, timeperiod=p.ema_slow)
    vol = realized_volatility(close, p.vol_window)
    median = rolling_median(vol, p.median_window)
    codes = np.full(len(series), np.nan)
    ready = np.flatnonzero(~(np.isnan(adx) | np.isnan(fast) | np.isnan(slow) | np.isnan(vol)))
    code_of = {regime: float(code) for code, regime in enumerate(REGIME_CODES)}
    inputs = zip(
        adx[ready].tolist(),
        fast[ready].tolist(),
        slow[ready].tolist(),
        vol[ready].tolist(),
        median[ready].tolist(),
        strict=True,
    )
    codes[ready] = [
        code_of[classify_regime(adx=a, ema_fast=f, ema_slow=s, volatility=v, median_volatility=m)]
        for a, f, s, v, m in inputs
    ]
    return {"regime": codes}


def decode_regimes(codes: FloatArray) -> list[Regime]:
    """The regime column as `Regime` values, `Regime.WARMUP` where it is NaN."""
    return [Regime.WARMUP if math.isnan(c) else REGIME_CODES[int(c)] for c in codes.tolist()]


def _entry(
    name: str,
    description: str,
    params: type[P],
    outputs: tuple[str, ...],
    compute: Callable[[CandleSeries, P], Columns],
) -> tuple[str, Indicator[Any]]:
    return name, Indicator(name, description, params, outputs, compute)


INDICATORS: dict[str, Indicator[Any]] = dict(
    [
        _entry("sma", "simple moving average of closes", MovingAverageParams, ("sma",), _sma),
        _entry("ema", "exponential moving average of closes", MovingAverageParams, ("ema",), _ema),
        _entry(
            "rsi", "Wilder's relative strength index of closes, 0-100", PeriodParams, ("rsi",), _rsi
        ),
        _entry(
            "macd",
            "MACD line (fast EMA - slow EMA), its signal EMA and their difference (histogram)",
            MacdParams,
            ("macd", "signal", "hist"),
            _macd,
        ),
        _entry(
            "bbands",
            "Bollinger bands: SMA of closes plus/minus population standard deviations",
            BbandsParams,
            ("upper", "middle", "lower"),
            _bbands,
        ),
        _entry("atr", "average true range (Wilder), in price units", AtrParams, ("atr",), _atr),
        _entry(
            "natr", "average true range as a percentage of the close", AtrParams, ("natr",), _natr
        ),
        _entry(
            "stoch",
            "slow stochastic oscillator %K and %D, 0-100",
            StochParams,
            ("slowk", "slowd"),
            _stoch,
        ),
        _entry(
            "adx",
            "average directional index (trend strength, 0-100) with +DI and -DI",
            PeriodParams,
            ("adx", "plus_di", "minus_di"),
            _adx,
        ),
        _entry(
            "obv",
            "on-balance volume: volume added on up closes, taken on down",
            NoParams,
            ("obv",),
            _obv,
        ),
        _entry("cci", "commodity channel index of the typical price", PeriodParams, ("cci",), _cci),
        _entry(
            "mfi", "money flow index (volume-weighted RSI), 0-100", PeriodParams, ("mfi",), _mfi
        ),
        _entry(
            "willr",
            "Williams %R, -100 (at the low) to 0 (at the high)",
            PeriodParams,
            ("willr",),
            _willr,
        ),
        _entry(
            "roc", "rate of change of closes over the period, in percent", RocParams, ("roc",), _roc
        ),
        _entry(
            "realized_volatility",
            "population std of log returns over the window, per candle unless annualized",
            RealizedVolatilityParams,
            ("realized_volatility",),
            _realized_volatility,
        ),
        _entry(
            "regime",
            "market regime code: 0 range, 1 trend up, 2 trend down, 3 high volatility",
            RegimeParams,
            ("regime",),
            _regime,
        ),
    ]
)


def compute_indicator(name: str, series: CandleSeries, **params: Any) -> Columns:
    """The named indicator's columns over `series`, with `params` validated by its model.

    Raises ValueError with one line on an unknown name or bad parameters."""
    indicator = INDICATORS.get(name)
    if indicator is None:
        raise ValueError(f"unknown indicator {name!r}: use one of {', '.join(sorted(INDICATORS))}")
    try:
        valid = indicator.params.model_validate(params)
    except ValidationError as error:
        problems = "; ".join(_problem(e) for e in error.errors())
        raise ValueError(
            f"bad parameters for {name}: {problems}; valid parameters: "
            f"{describe_params(indicator.params)}"
        ) from None
    columns = indicator.compute(series, valid)
    shapes = [c.shape for c in columns.values()]
    if tuple(columns) != indicator.outputs or any(shape != (len(series),) for shape in shapes):
        raise AssertionError(
            f"{name} returned {list(columns)} shaped {shapes}, not {indicator.outputs}"
            f" shaped ({len(series)},)"
        )
    return columns


def describe_params(model: type[IndicatorParams]) -> str:
    """One line naming each parameter with its bounds and default, e.g.
    `period (int 2..500, default 14)`."""
    parts = []
    for field_name, field in model.model_fields.items():
        low = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
        high = next((m.le for m in field.metadata if isinstance(m, Le)), None)
        kind = getattr(field.annotation, "__name__", str(field.annotation))
        parts.append(f"{field_name} ({kind} {low}..{high}, default {field.default})")
    return ", ".join(parts) if parts else "none"


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if "input" in error and where:
        return f"{where}={error['input']!r}: {message}"
    return f"{where}: {message}" if where else message
