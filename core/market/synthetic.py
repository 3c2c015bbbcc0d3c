"""A seeded, regime-switching synthetic crypto market.

It exists so that every command works on a fresh machine with no data and no network, and so
that tests and evaluations have a market whose hidden regimes are known. It imitates crypto
where that matters to the tools that read it: fat-tailed returns, clustered volatility, trends
and ranges that persist, crash-prone turbulent spells, wicks, and volume that rises with
activity. It is labelled synthetic wherever it is shown (`MarketInfo.synthetic`).

Randomness comes from one `numpy.random.SeedSequence(seed)` split into independent PCG64
streams, each read element by element, so a seed always gives the same market and asking for
more bars extends the same market instead of reshuffling it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from core.errors import DataError, UserError
from core.market.recorded import MAX_MS, check_values
from core.market.series import CandleSeries, FloatArray
from core.types import timeframe_seconds

Int8Array = npt.NDArray[np.int8]

DEFAULT_START_MS: Final = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
MAX_SYNTHETIC_BARS: Final = 5_000_000
_YEAR_S: Final = 365 * 86400  # crypto trades around the clock
_DAY_S: Final = 86400

_BASE_VOL: Final = 0.72  # annualized; with the regime mix and crashes the total is ~65-75%
_START_PRICE: Final = 100.0
_T_DF: Final = 5.0  # Student-t degrees of freedom: fat tails with a finite kurtosis
_GARCH_ALPHA: Final = 0.06
_GARCH_BETA: Final = 0.91  # alpha + beta < 1, and the 4th-moment condition holds for t(5)
_H_MAX: Final = 25.0  # variance multiplier cap: at most 5x the regime's volatility
_REVERSION_HALF_LIFE_S: Final = 2 * _YEAR_S  # keeps centuries-long series in a sane range
_BASE_VOLUME_PER_HOUR: Final = 1000.0
_CHUNK: Final = 256  # regime draws come in fixed chunks so the path does not depend on `bars`


class SyntheticRegime(IntEnum):
    """Hidden state of the synthetic market: the ground truth for regime-detection tests."""

    BULL = 0
    BEAR = 1
    RANGE = 2
    TURBULENT = 3


# Per regime (index = SyntheticRegime): annual drift, volatility multiplier, mean duration in
# days, crash rate per day, log-volume offset.
_DRIFT: Final = np.array([1.10, -0.90, 0.0, -0.40])
_VOL_MULT: Final = np.array([0.85, 1.10, 0.60, 1.80])
_DURATION_DAYS: Final = (14.0, 10.0, 10.0, 4.0)
_CRASH_PER_DAY: Final = np.array([0.0, 0.02, 0.0, 0.35])
_VOLUME_LEVEL: Final = np.array([0.0, 0.15, -0.35, 0.45])
# Where a regime goes when it ends (rows sum to 1, zero diagonal), as cumulative rows.
_NEXT_CUM: Final = (
    (0.00, 0.25, 0.70, 1.00),
    (0.35, 0.35, 0.80, 1.00),
    (0.45, 0.80, 0.80, 1.00),
    (0.20, 0.65, 1.00, 1.00),
)


@dataclass(frozen=True)
class SyntheticMarket:
    """A generated series together with the regime that produced each bar."""

    series: CandleSeries
    regimes: Int8Array


def generate_synthetic(
    seed: int,
    *,
    symbol: str = "SYN/USDT",
    timeframe: str = "1h",
    bars: int = 2000,
    start_ms: int = DEFAULT_START_MS,
) -> CandleSeries:
    """The candles of the synthetic market for `seed`.

    `symbol` only names the market (the same seed gives the same path whatever it is called).
    """
    del symbol
    return simulate_market(seed, timeframe=timeframe, bars=bars, start_ms=start_ms).series


def simulate_market(
    seed: int, *, timeframe: str = "1h", bars: int = 2000, start_ms: int = DEFAULT_START_MS
) -> SyntheticMarket:
    """Generate `bars` candles from `start_ms` and keep the hidden regime of each bar."""
    period_s = timeframe_seconds(timeframe)
    if seed < 0:
        raise UserError(f"synthetic seed {seed} is negative: use a seed of 0 or more")
    if bars <= 0:
        raise UserError(f"bars must be at least 1, got {bars}")
    if bars > MAX_SYNTHETIC_BARS:
        raise UserError(f"{bars} synthetic bars is too many: ask for at most {MAX_SYNTHETIC_BARS}")
    last_ms = start_ms + (bars - 1) * period_s * 1000
    if last_ms > MAX_MS:
        raise DataError(
            f"{bars:,} synthetic {timeframe} candles run past the year 2286: "
            "ask for fewer --bars or a shorter --timeframe"
        )
    with np.errstate(all="ignore"):  # a series that overflows is refused below, not warned of
        market = _simulate(seed, period_s, bars, start_ms)
    _check_series(market.series, seed, timeframe)
    return market


def _check_series(series: CandleSeries, seed: int, timeframe: str) -> None:
    """The synthetic series passes the checks a recorded file does: a path simulated on very
    long candles can run to a zero or infinite price, which features would divide by."""
    table = np.column_stack(
        (series.ts.astype(np.float64), series.open, series.high, series.low, series.close,
         series.volume)
    )  # fmt: skip
    try:
        check_values(f"synthetic:{seed} {timeframe}", table)
    except DataError as exc:
        raise DataError(
            f"{exc}: the synthetic market cannot be simulated on {timeframe} candles this long; "
            "use a shorter --timeframe or fewer --bars"
        ) from None


def _simulate(seed: int, period_s: int, bars: int, start_ms: int) -> SyntheticMarket:
    (regime_s, shock_s, crash_s, size_s, up_s, down_s, volume_s) = [
        np.random.Generator(np.random.PCG64(child))
        for child in np.random.SeedSequence(seed).spawn(7)
    ]
    regimes = _regime_path(regime_s, bars, period_s)

    dt = period_s / _YEAR_S
    sig = _BASE_VOL * _VOL_MULT[regimes] * math.sqrt(dt)
    mu = _DRIFT[regimes] * dt - 0.5 * sig**2
    z = shock_s.standard_t(_T_DF, size=bars) * math.sqrt((_T_DF - 2.0) / _T_DF)
    crash_p = 1.0 - _exp(-_CRASH_PER_DAY[regimes] * (period_s / _DAY_S))
    crash = crash_s.random(bars) < crash_p
    jump = np.where(crash, np.clip(size_s.normal(-0.05, 0.025, size=bars), -0.25, 0.0), 0.0)
    log_ret, bar_sd = _garch_path(sig, mu, z, jump, period_s)

    close = _START_PRICE * _exp(np.cumsum(log_ret))
    open_ = np.empty(bars)
    open_[0] = _START_PRICE
    open_[1:] = close[:-1]
    wick_up = 0.5 * bar_sd * np.abs(up_s.standard_normal(bars))
    wick_down = 0.5 * bar_sd * np.abs(down_s.standard_normal(bars))
    high = np.maximum(open_, close) * _exp(wick_up)
    low = np.minimum(open_, close) * _exp(-wick_down)
    # Volume grows with the size of the move, the volatility state and the regime.
    activity = np.minimum(np.abs(log_ret) / sig, 10.0)
    log_volume = (
        math.log(_BASE_VOLUME_PER_HOUR * period_s / 3600.0)
        + 0.35 * activity
        + _log(bar_sd / sig)
        + _VOLUME_LEVEL[regimes]
        + 0.3 * volume_s.standard_normal(bars)
    )
    ts = start_ms + np.arange(bars, dtype=np.int64) * (period_s * 1000)
    series = CandleSeries(
        ts=ts, open=open_, high=high, low=low, close=close, volume=_exp(log_volume)
    )
    return SyntheticMarket(series=series, regimes=regimes)


def _exp(values: np.ndarray) -> np.ndarray:
    """exp of each value through the C library, one at a time. numpy's vectorized exp takes
    a different code path on CPUs with AVX-512 and can differ in the last bit, so the same seed
    would give other candles (and other LLM requests, missing a recorded cassette) on another
    machine; the scalar libm call gives the same bits on every x86-64 machine."""
    return np.fromiter(map(math.exp, values.tolist()), dtype=np.float64, count=values.size)


def _log(values: np.ndarray) -> np.ndarray:
    """log of each value through the C library (see `_exp`)."""
    return np.fromiter(map(math.log, values.tolist()), dtype=np.float64, count=values.size)


def _regime_path(rng: np.random.Generator, bars: int, period_s: int) -> Int8Array:
    """Markov chain over regimes as segments: geometric durations, then a jump to another."""
    stay = [1.0 - 1.0 / max(days * _DAY_S / period_s, 2.0) for days in _DURATION_DAYS]
    log_stay = [math.log(p) for p in stay]
    out = np.empty(bars, dtype=np.int8)
    uniforms: list[float] = []
    state = 0 if rng.random() < 0.5 else 2  # start calm: in a bull market or a range
    i = 0
    while i < bars:
        if len(uniforms) < 2:
            uniforms = rng.random(_CHUNK).tolist()[::-1] + uniforms
        u_len, u_next = uniforms.pop(), uniforms.pop()
        length = 1 + int(math.log(1.0 - u_len) / log_stay[state])  # inverse geometric CDF
        out[i : i + length] = state
        i += length
        state = next(k for k, edge in enumerate(_NEXT_CUM[state]) if u_next < edge)
    return out


def _garch_path(
    sig: FloatArray, mu: FloatArray, z: FloatArray, jump: FloatArray, period_s: int
) -> tuple[FloatArray, FloatArray]:
    """GARCH(1,1) log returns around the regime volatility, with slow mean reversion.

    The recursion is inherently sequential; on plain floats it runs ~100k bars in tens of ms.
    """
    n = len(sig)
    kappa = math.log(2.0) * period_s / _REVERSION_HALF_LIFE_S
    omega = 1.0 - _GARCH_ALPHA - _GARCH_BETA
    alpha, beta, h_max = _GARCH_ALPHA, _GARCH_BETA, _H_MAX
    sig_l, mu_l, z_l, jump_l = sig.tolist(), mu.tolist(), z.tolist(), jump.tolist()
    ret = [0.0] * n
    sd = [0.0] * n
    h = 1.0
    log_p = 0.0
    sqrt = math.sqrt
    for t in range(n):
        s = sig_l[t] * sqrt(h)
        shock = s * z_l[t] + jump_l[t]
        r = mu_l[t] - kappa * log_p + shock
        log_p += r
        ret[t] = r
        sd[t] = s
        x = shock / sig_l[t]
        h = omega + alpha * x * x + beta * h
        if h > h_max:
            h = h_max
    return np.array(ret), np.array(sd)
