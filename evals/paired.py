"""Paired comparisons: is configuration B better than A on the same candles, or is it noise?

Two replays of one market and window give two equity curves sampled at the same closes, so
their candle-to-candle returns are paired: a resample takes the same candles from both. The
resampling is `arch`'s stationary bootstrap (Politis and Romano), which draws blocks of
geometric length so that volatility clustering and the autocorrelation of a strategy's returns
survive resampling; the mean block length is Politis and White's optimal length for the paired
difference (`arch.bootstrap.optimal_block_length`). Each resample gives both configurations'
metrics over the resampled path; the 2.5th and 97.5th percentiles of B minus A are the 95%
interval, and a verdict says whether it excludes zero. The generator is seeded from the seed
and the market's label, so an interval is reproducible and does not depend on which other
markets are compared.

Pooled over markets, the difference is the mean of the markets' differences, resample by
resample (each market resampled independently), so its interval is that of the mean.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from tools.metrics import YEAR_SECONDS, too_short_to_annualize

RESAMPLES = 2_000
SEED = 7
CONFIDENCE = 0.95
CHUNK_ELEMENTS = 4_000_000
"""Resampled candles held at once (per configuration): about 32 MB of float64."""


class Metric(StrEnum):
    TOTAL_RETURN = "total_return"
    SHARPE = "sharpe"
    SORTINO = "sortino"
    MAX_DRAWDOWN = "max_drawdown"

    @property
    def higher_is_better(self) -> bool:
        return self is not Metric.MAX_DRAWDOWN

    @property
    def label(self) -> str:
        return {
            Metric.TOTAL_RETURN: "total return",
            Metric.SHARPE: "Sharpe",
            Metric.SORTINO: "Sortino",
            Metric.MAX_DRAWDOWN: "max drawdown",
        }[self]

    @property
    def in_points(self) -> bool:
        """A fraction, shown in percentage points; the ratios are shown as they are."""
        return self in (Metric.TOTAL_RETURN, Metric.MAX_DRAWDOWN)


METRICS = tuple(Metric)
UNANNUALIZED = (Metric.TOTAL_RETURN, Metric.MAX_DRAWDOWN)
SHORT_WINDOW_NOTE = (
    "Sharpe and Sortino left out: the window is shorter than 30 days (as in the reports)"
)


class Verdict(StrEnum):
    BETTER = "better"
    WORSE = "worse"
    NO_DIFFERENCE = "no detectable difference"


class MetricComparison(BaseModel):
    """One metric of the candidate against the control, with the interval of the difference."""

    model_config = ConfigDict(frozen=True)

    metric: Metric
    control: float
    candidate: float
    difference: float
    """candidate minus control, on the candles as they happened."""
    low: float
    high: float
    """The bootstrap interval of the difference (CONFIDENCE, percentile method)."""
    verdict: Verdict


class PairedComparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    market: str
    control: str
    candidate: str
    candles: int
    block_size: float
    resamples: int
    seed: int
    confidence: float
    metrics: tuple[MetricComparison, ...]
    notes: tuple[str, ...] = ()
    """What the comparison leaves out, and why."""


@dataclass(frozen=True)
class PairedDraws:
    """A comparison and the resampled differences behind it (kept for pooling)."""

    comparison: PairedComparison
    draws: dict[Metric, NDArray[np.float64]]


def returns_of(initial: float, equity: Sequence[float]) -> NDArray[np.float64]:
    """Candle-to-candle returns of an equity curve that starts at `initial`, as the report's
    metrics compute them (a close at zero equity stays at zero)."""
    curve = np.asarray([initial, *equity], dtype=np.float64)
    previous = curve[:-1]
    safe = np.where(previous > 0, previous, 1.0)
    return np.where(previous > 0, curve[1:] / safe - 1.0, 0.0)


def series_metrics(returns: NDArray[np.float64], per_year: float) -> dict[Metric, float]:
    """The four metrics of one return series, defined as in `tools.metrics.performance`."""
    return {
        m: float(v[0]) for m, v in _metrics_of(PairedSeries.of(returns), None, per_year).items()
    }


@dataclass(frozen=True)
class PairedSeries:
    """A return series with what every resample reads from it, computed once: the log growth
    (for the path: total return, drawdown) and the simple returns (Sharpe, Sortino), in
    float64 for the observed figures and float32 for the resamples (half the memory traffic;
    a resample's sums keep about six significant digits, far finer than any interval)."""

    returns: NDArray[np.float64]
    log_growth: NDArray[np.float64]
    returns32: NDArray[np.float32]
    log_growth32: NDArray[np.float32]

    @classmethod
    def of(cls, returns: NDArray[np.float64]) -> PairedSeries:
        returns = np.asarray(returns, dtype=np.float64)
        log_growth = np.log1p(np.maximum(returns, -1.0 + 1e-12))
        return cls(returns, log_growth, returns.astype(np.float32), log_growth.astype(np.float32))


def _metrics_of(
    series: PairedSeries, index: NDArray[np.int64] | None, per_year: float
) -> dict[Metric, NDArray[np.float64]]:
    """Metrics of the paths `series[index]` (one row per resample), or of the series itself."""
    log_growth: NDArray[np.floating[Any]]
    returns: NDArray[np.floating[Any]]
    if index is None:  # fancy indexing copies; the series itself must be copied by hand
        log_growth, returns = series.log_growth[None, :].copy(), series.returns[None, :].copy()
    else:
        log_growth, returns = series.log_growth32[index], series.returns32[index]
    n = returns.shape[1]
    path = np.cumsum(log_growth, axis=1, out=log_growth)
    peak = np.maximum.accumulate(path, axis=1)
    np.maximum(peak, 0.0, out=peak)
    np.subtract(peak, path, out=peak)
    drawdown = -np.expm1(-peak.max(axis=1).astype(np.float64))
    total = np.expm1(path[:, -1].astype(np.float64))
    mean = returns.sum(axis=1, dtype=np.float64) / n
    squares = np.einsum("ij,ij->i", returns, returns, dtype=np.float64)
    spread = np.sqrt(np.maximum(squares - n * mean**2, 0.0) / max(n - 1, 1))
    down = np.minimum(returns, 0.0, out=returns)
    downside = np.sqrt(np.einsum("ij,ij->i", down, down, dtype=np.float64) / n)
    scale = math.sqrt(per_year)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(spread > 0, mean / np.where(spread > 0, spread, 1.0) * scale, 0.0)
        sortino = np.where(downside > 0, mean / np.where(downside > 0, downside, 1.0) * scale, 0.0)
    return {
        Metric.TOTAL_RETURN: total,
        Metric.SHARPE: sharpe,
        Metric.SORTINO: sortino,
        Metric.MAX_DRAWDOWN: drawdown,
    }


def block_size_for(difference: NDArray[np.float64]) -> float:
    """Politis and White's optimal mean block length for the stationary bootstrap, kept between
    1 and a tenth of the series (a constant difference has no autocorrelation: 1)."""
    from arch.bootstrap import optimal_block_length

    if difference.size < 10 or not np.any(difference != difference[0]):
        return 1.0
    optimal = float(optimal_block_length(difference)["stationary"].iloc[0])
    if not math.isfinite(optimal):
        return 1.0
    return float(min(max(optimal, 1.0), max(1.0, difference.size / 10)))


def compare_returns(
    control: NDArray[np.float64],
    candidate: NDArray[np.float64],
    *,
    period_seconds: float,
    market: str,
    names: tuple[str, str] = ("control", "candidate"),
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> PairedDraws:
    """Candidate against control over the same candles: observed differences, bootstrap
    intervals and verdicts for every metric."""
    from arch.bootstrap import StationaryBootstrap

    if control.shape != candidate.shape or control.ndim != 1:
        raise ValueError("paired returns must be two series of the same length")
    n = control.size
    per_year = YEAR_SECONDS / period_seconds
    series_a, series_b = PairedSeries.of(control), PairedSeries.of(candidate)
    observed_a = _metrics_of(series_a, None, per_year)
    observed_b = _metrics_of(series_b, None, per_year)
    block = block_size_for(candidate - control)
    generator = np.random.default_rng([seed, zlib.crc32(market.encode())])
    sampler = StationaryBootstrap(max(1, round(block)), np.empty(n), seed=generator)
    short = too_short_to_annualize(n * period_seconds)
    metrics = UNANNUALIZED if short else METRICS
    draws: dict[Metric, list[NDArray[np.float64]]] = {m: [] for m in metrics}
    per_chunk = max(1, CHUNK_ELEMENTS // max(n, 1))
    done = 0
    while done < resamples:
        rows = min(per_chunk, resamples - done)
        index = np.stack([sampler.update_indices() for _ in range(rows)])
        drawn_a = _metrics_of(series_a, index, per_year)
        drawn_b = _metrics_of(series_b, index, per_year)
        for metric in metrics:
            draws[metric].append(drawn_b[metric] - drawn_a[metric])
        done += rows
    stacked = {m: np.concatenate(parts) for m, parts in draws.items()}
    results = tuple(
        _judge(metric, float(observed_a[metric][0]), float(observed_b[metric][0]), stacked[metric])
        for metric in metrics
    )
    comparison = PairedComparison(
        market=market,
        control=names[0],
        candidate=names[1],
        candles=n,
        block_size=round(block, 2),
        resamples=resamples,
        seed=seed,
        confidence=CONFIDENCE,
        metrics=results,
        notes=_notes(results, short=short),
    )
    return PairedDraws(comparison=comparison, draws=stacked)


def pooled(parts: Sequence[PairedDraws], market: str = "pooled") -> PairedDraws:
    """The mean difference over markets, with the interval of that mean (every market's
    resamples drawn independently; all must have the same number of resamples)."""
    if not parts:
        raise ValueError("nothing to pool")
    first = parts[0].comparison
    metrics = [m for m in METRICS if all(m in p.draws for p in parts)]
    draws = {m: np.mean([p.draws[m] for p in parts], axis=0) for m in metrics}
    results = []
    for metric in metrics:
        rows = [_row(p.comparison, metric) for p in parts]
        control = float(np.mean([r.control for r in rows]))
        candidate = float(np.mean([r.candidate for r in rows]))
        results.append(_judge(metric, control, candidate, draws[metric]))
    comparison = PairedComparison(
        market=market,
        control=first.control,
        candidate=first.candidate,
        candles=sum(p.comparison.candles for p in parts),
        block_size=round(float(np.mean([p.comparison.block_size for p in parts])), 2),
        resamples=first.resamples,
        seed=first.seed,
        confidence=first.confidence,
        metrics=tuple(results),
        notes=_notes(results, short=len(metrics) < len(METRICS)),
    )
    return PairedDraws(comparison=comparison, draws=draws)


def _notes(results: Sequence[MetricComparison], *, short: bool) -> tuple[str, ...]:
    """What a reader must know: ratios left out of a short window, and any observed
    difference outside its own interval."""
    notes = [SHORT_WINDOW_NOTE] if short else []
    outside = [r.metric.label for r in results if not r.low <= r.difference <= r.high]
    if outside:
        notes.append(
            f"the observed {' and '.join(outside)} difference lies outside its interval (the "
            "resampled paths disagree with the candles as they happened): no direction is "
            "claimed"
        )
    return tuple(notes)


def _row(comparison: PairedComparison, metric: Metric) -> MetricComparison:
    return next(r for r in comparison.metrics if r.metric is metric)


def _judge(
    metric: Metric, control: float, candidate: float, draws: NDArray[np.float64]
) -> MetricComparison:
    """The percentile interval and the verdict. A path statistic such as the max drawdown can
    resample far from what happened (the deepest fall is one event, cut up by the blocks), so
    the observed difference may lie outside its own interval; then the interval and the
    candles disagree, and neither direction is claimed."""
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = (float(v) for v in np.percentile(draws, [tail, 100 - tail]))
    difference = candidate - control
    if low > 0 and difference > 0:
        verdict = Verdict.BETTER if metric.higher_is_better else Verdict.WORSE
    elif high < 0 and difference < 0:
        verdict = Verdict.WORSE if metric.higher_is_better else Verdict.BETTER
    else:
        verdict = Verdict.NO_DIFFERENCE
    return MetricComparison(
        metric=metric,
        control=control,
        candidate=candidate,
        difference=difference,
        low=low,
        high=high,
        verdict=verdict,
    )


def in_words(comparison: PairedComparison) -> list[str]:
    """One line per metric, as a trader would say it."""
    lines = []
    for row in comparison.metrics:
        lines.append(
            f"{row.metric.label}: {format_amount(row.metric, row.candidate)} against "
            f"{format_amount(row.metric, row.control)}, difference "
            f"{format_difference(row.metric, row.difference)} "
            f"(95% interval {format_difference(row.metric, row.low)} to "
            f"{format_difference(row.metric, row.high)}): {row.verdict.value}"
        )
    return lines


def format_amount(metric: Metric, value: float) -> str:
    """A metric's value: returns signed, drawdown unsigned, ratios to two places."""
    if metric is Metric.MAX_DRAWDOWN:
        return f"{value:.2%}"
    if metric.in_points:
        return f"{value:+.2%}"
    return f"{value:.2f}"


def format_difference(metric: Metric, value: float) -> str:
    """A difference: percentage points for fractions, signed."""
    if metric.in_points:
        return f"{value * 100:+.2f} pp"
    return f"{value:+.2f}"
