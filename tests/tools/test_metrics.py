import math
import statistics

import pytest

from tools.metrics import (
    ANNUALIZED,
    max_drawdown,
    performance,
    too_short_to_annualize,
    total_return,
    without_annualized,
)


def test_max_drawdown_is_the_largest_fall_from_a_peak_as_a_positive_fraction():
    assert max_drawdown([100, 120, 90, 130, 117]) == pytest.approx(0.25)


def test_max_drawdown_of_a_rising_curve_is_zero():
    assert max_drawdown([1, 2, 3]) == 0.0


def test_total_return():
    assert total_return([100, 150]) == pytest.approx(0.5)


DAY = 86_400


def test_a_flat_curve_has_no_return_no_risk():
    m = performance([100.0] * 50, period_seconds=DAY)

    assert (m.total_return, m.cagr, m.sharpe, m.sortino, m.volatility, m.max_drawdown) == (
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    )  # fmt: skip


def test_a_year_of_steady_daily_growth_compounds_to_its_cagr():
    curve = [100.0 * 1.001**t for t in range(366)]

    m = performance(curve, period_seconds=DAY)

    assert m.cagr == pytest.approx(1.001**365 - 1.0)
    assert m.total_return == pytest.approx(m.cagr)
    assert m.volatility == pytest.approx(0.0, abs=1e-12)
    assert m.max_drawdown == 0.0 and m.calmar == 0.0


def test_sharpe_sortino_and_volatility_are_annualized_with_365_days():
    returns = [0.02, -0.01, 0.02, -0.01]
    curve = [100.0]
    for r in returns:
        curve.append(curve[-1] * (1 + r))
    mean, std = statistics.fmean(returns), statistics.stdev(returns)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))

    m = performance(curve, period_seconds=DAY)

    assert m.sharpe == pytest.approx(mean / std * math.sqrt(365))
    assert m.sortino == pytest.approx(mean / downside * math.sqrt(365))
    assert m.volatility == pytest.approx(std * math.sqrt(365))


def test_hourly_candles_annualize_with_8760_periods():
    curve = [100.0, 101.0, 100.5, 102.0]

    hourly = performance(curve, period_seconds=3600)
    daily = performance(curve, period_seconds=DAY)

    assert hourly.volatility == pytest.approx(daily.volatility * math.sqrt(24))


def test_calmar_is_cagr_over_the_max_drawdown():
    curve = [100.0, 120.0, 90.0, 130.0]

    m = performance(curve, period_seconds=DAY)

    assert m.max_drawdown == pytest.approx(0.25)
    assert m.calmar == pytest.approx(m.cagr / 0.25)


def test_trading_figures_come_from_the_trades_and_the_fills():
    m = performance(
        [100.0, 101.0, 99.0, 102.0, 103.0],
        period_seconds=DAY,
        trade_pnls=[5.0, -2.0, 1.0, 0.0],
        bars_exposed=2,
        traded_notional=201.0,
        fees_paid=0.4,
    )

    assert m.trades == 4 and m.win_rate == pytest.approx(0.5)
    assert m.exposure == pytest.approx(0.5)
    assert m.turnover == pytest.approx(201.0 / statistics.fmean([100, 101, 99, 102, 103]))
    assert m.fees_paid == 0.4


def test_a_total_loss_gives_finite_metrics():
    m = performance([10_000.0, 0.0, 0.0], period_seconds=60)

    assert m.total_return == -1.0 and m.max_drawdown == 1.0 and m.cagr == -1.0
    assert all(math.isfinite(v) for v in m.model_dump().values())


def test_a_run_shorter_than_a_day_reports_no_cagr_instead_of_an_overflow():
    m = performance([10_000.0, 11_000.0, 12_000.0], period_seconds=60)

    assert m.cagr == 0.0 and m.calmar == 0.0
    assert m.total_return == pytest.approx(0.2)


def test_under_30_days_the_annualized_figures_are_left_out_and_the_rest_kept():
    m = performance([100.0, 101.0, 99.0, 102.0], period_seconds=DAY)

    short = without_annualized(m)

    assert too_short_to_annualize(29.9 * DAY) and not too_short_to_annualize(30 * DAY)
    assert (short.cagr, short.sharpe, short.sortino, short.calmar) == (None, None, None, None)
    assert short.model_dump(exclude=set(ANNUALIZED)) == m.model_dump(exclude=set(ANNUALIZED))
