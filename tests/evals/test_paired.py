"""Paired bootstrap comparisons: intervals that find a real difference, stay at zero for
none, match the report's metrics, and repeat with the same seed."""

import numpy as np
import pytest

from evals.paired import (
    Metric,
    Verdict,
    compare_returns,
    pooled,
    returns_of,
    series_metrics,
)
from tools.metrics import YEAR_SECONDS, performance

HOUR = 3_600


def _market(seed, n=2_000, scale=0.01):
    return np.random.default_rng(seed).normal(0.0, scale, n)


def _rows(draws):
    return {row.metric: row for row in draws.comparison.metrics}


def test_identical_runs_show_no_difference():
    returns = _market(1)

    rows = _rows(compare_returns(returns, returns.copy(), period_seconds=HOUR, market="m"))

    for row in rows.values():
        assert row.difference == 0.0
        assert (row.low, row.high) == (0.0, 0.0)
        assert row.verdict is Verdict.NO_DIFFERENCE


def test_a_steady_edge_is_found_better():
    control = _market(2)
    candidate = control + 0.002  # the same candles, 0.2% more every candle

    rows = _rows(compare_returns(control, candidate, period_seconds=HOUR, market="m"))

    for metric in (Metric.TOTAL_RETURN, Metric.SHARPE, Metric.SORTINO):
        assert rows[metric].verdict is Verdict.BETTER
        assert rows[metric].low > 0
    assert rows[Metric.MAX_DRAWDOWN].verdict is Verdict.BETTER
    assert rows[Metric.MAX_DRAWDOWN].high < 0


def test_doubled_leverage_on_a_losing_market_is_a_deeper_drawdown():
    control = _market(3) - 0.001
    candidate = 2 * control

    rows = _rows(compare_returns(control, candidate, period_seconds=HOUR, market="m"))

    assert rows[Metric.MAX_DRAWDOWN].verdict is Verdict.WORSE
    assert rows[Metric.MAX_DRAWDOWN].low > 0
    assert rows[Metric.TOTAL_RETURN].verdict is Verdict.WORSE


def test_noise_around_the_same_strategy_is_no_detectable_difference():
    control = _market(4)
    candidate = control + np.random.default_rng(5).normal(0.0, 0.001, control.size)

    rows = _rows(compare_returns(control, candidate, period_seconds=HOUR, market="m"))

    assert rows[Metric.SHARPE].verdict is Verdict.NO_DIFFERENCE
    assert rows[Metric.SHARPE].low < rows[Metric.SHARPE].difference < rows[Metric.SHARPE].high


def test_observed_metrics_are_the_reports_metrics():
    equity = list(10_000 * np.cumprod(1 + _market(6, n=500)))
    expected = performance([10_000.0, *equity], period_seconds=HOUR)

    measured = series_metrics(returns_of(10_000.0, equity), YEAR_SECONDS / HOUR)

    assert measured[Metric.TOTAL_RETURN] == pytest.approx(expected.total_return, rel=1e-9)
    assert measured[Metric.SHARPE] == pytest.approx(expected.sharpe, rel=1e-9)
    assert measured[Metric.SORTINO] == pytest.approx(expected.sortino, rel=1e-9)
    assert measured[Metric.MAX_DRAWDOWN] == pytest.approx(expected.max_drawdown, rel=1e-9)


def test_the_same_seed_gives_the_same_interval_and_another_seed_another():
    control, candidate = _market(7), _market(8)

    first = compare_returns(control, candidate, period_seconds=HOUR, market="m", seed=1)
    again = compare_returns(control, candidate, period_seconds=HOUR, market="m", seed=1)
    other = compare_returns(control, candidate, period_seconds=HOUR, market="m", seed=2)

    assert first.comparison == again.comparison
    assert first.comparison.metrics[0].low != other.comparison.metrics[0].low


def test_pooling_averages_the_markets_and_narrows_the_interval():
    parts = []
    for seed in range(4):
        control = _market(10 + seed)
        candidate = control + np.random.default_rng(20 + seed).normal(0.0, 0.004, control.size)
        parts.append(compare_returns(control, candidate, period_seconds=HOUR, market=f"m{seed}"))

    pool = _rows(pooled(parts))

    sharpes = [_rows(p)[Metric.SHARPE] for p in parts]
    assert pool[Metric.SHARPE].difference == pytest.approx(np.mean([r.difference for r in sharpes]))
    width = pool[Metric.SHARPE].high - pool[Metric.SHARPE].low
    assert width < np.mean([r.high - r.low for r in sharpes])


def test_returns_of_an_account_that_went_to_zero_stay_at_zero():
    assert list(returns_of(100.0, [50.0, 0.0, 0.0])) == [-0.5, -1.0, 0.0]


def test_a_short_window_leaves_the_annualized_ratios_out_with_a_note():
    control = _market(30, n=24 * 20)  # 20 days of hourly candles

    draws = compare_returns(control, control + 0.001, period_seconds=HOUR, market="m")

    assert set(_rows(draws)) == {Metric.TOTAL_RETURN, Metric.MAX_DRAWDOWN}
    assert draws.comparison.notes == (
        "Sharpe and Sortino left out: the window is shorter than 30 days (as in the reports)",
    )


def test_an_observed_difference_outside_its_interval_claims_no_direction():
    from evals.paired import _judge, _notes

    draws = np.linspace(-0.09, -0.01, 2_000)  # the resamples say: shallower drawdowns
    row = _judge(Metric.MAX_DRAWDOWN, control=0.10, candidate=0.115, draws=draws)

    assert row.high < 0 < row.difference  # the candles as they happened say: deeper
    assert row.verdict is Verdict.NO_DIFFERENCE
    assert _notes([row], short=False) == (
        "the observed max drawdown difference lies outside its interval (the resampled paths "
        "disagree with the candles as they happened): no direction is claimed",
    )
