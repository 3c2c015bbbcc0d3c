"""Historical VaR and expected shortfall: hand-checked order statistics, and ES never below VaR."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.risk_metrics import (
    candle_returns,
    expected_shortfall,
    historical_var,
    tail_risk,
)

LOSSES = -np.arange(1, 11) / 100.0  # -1% .. -10%
KNOWN = np.concatenate([LOSSES, np.full(90, 0.005)])
"""100 returns: ten losses of 1% to 10%, ninety gains of 0.5%. Sorted, r(0) = -10%, r(1) = -9%,
..., r(4) = -6%, r(5) = -5%."""


def test_var_95_interpolates_between_the_fifth_and_sixth_worst_returns():
    # h = (100 - 1) x 0.05 = 4.95: r(4) + 0.95 (r(5) - r(4)) = -6% + 0.95 x 1% = -5.05%
    assert historical_var(KNOWN, 0.95) == pytest.approx(0.0505, rel=1e-12)


def test_var_99_interpolates_between_the_worst_and_second_worst_returns():
    # h = 99 x 0.01 = 0.99: r(0) + 0.99 (r(1) - r(0)) = -10% + 0.99 x 1% = -9.01%
    assert historical_var(KNOWN, 0.99) == pytest.approx(0.0901, rel=1e-12)


def test_es_95_averages_the_five_worst_returns():
    # ⌊4.95⌋ + 1 = 5 worst: mean(-10, -9, -8, -7, -6) = -8%
    assert expected_shortfall(KNOWN, 0.95) == pytest.approx(0.08, rel=1e-12)


def test_es_99_is_the_worst_return_when_the_tail_holds_one():
    # ⌊0.99⌋ + 1 = 1 worst
    assert expected_shortfall(KNOWN, 0.99) == pytest.approx(0.10, rel=1e-12)


def test_the_order_of_the_returns_does_not_matter():
    shuffled = np.random.default_rng(3).permutation(KNOWN)

    assert historical_var(shuffled, 0.95) == historical_var(KNOWN, 0.95)
    assert expected_shortfall(shuffled, 0.95) == expected_shortfall(KNOWN, 0.95)


@settings(max_examples=200, deadline=None)
@given(
    returns=st.lists(
        st.floats(min_value=-1.0, max_value=1.0, allow_nan=False), min_size=1, max_size=300
    ),
    level=st.sampled_from([0.5, 0.9, 0.95, 0.975, 0.99]),
)
def test_expected_shortfall_is_never_below_value_at_risk(returns, level):
    values = np.asarray(returns)

    assert expected_shortfall(values, level) >= historical_var(values, level)


def test_the_tail_risk_of_a_curve_reads_its_candle_returns_and_scales_a_day_by_sqrt_time():
    equity = 10_000.0 * np.cumprod(np.concatenate([[1.0], 1.0 + KNOWN]))

    risk = tail_risk(equity, period_seconds=3_600)

    assert risk.horizon_seconds == 3_600
    assert risk.observations == 100
    assert risk.var_95 == pytest.approx(0.0505, rel=1e-9)
    assert risk.es_95 == pytest.approx(0.08, rel=1e-9)
    assert risk.var_99 == pytest.approx(0.0901, rel=1e-9)
    assert risk.es_99 == pytest.approx(0.10, rel=1e-9)
    assert risk.day_scale == pytest.approx(24**0.5)
    assert risk.es_95_1d == pytest.approx(0.08 * 24**0.5, rel=1e-9)


def test_a_one_day_figure_never_exceeds_losing_everything():
    equity = np.concatenate([[100.0], np.full(10, 100.0), [40.0]])  # one 60% loss in 11 minutes

    risk = tail_risk(equity, period_seconds=60)

    assert risk.es_99 == pytest.approx(0.6)
    assert risk.es_99_1d == 1.0


def test_a_curve_that_never_moves_risks_nothing():
    risk = tail_risk(np.full(50, 10_000.0), period_seconds=300)

    assert (risk.var_95, risk.es_95, risk.var_99, risk.es_99) == (0.0, 0.0, 0.0, 0.0)


def test_a_curve_that_only_gains_reports_a_negative_loss():
    risk = tail_risk(100.0 * 1.01 ** np.arange(30), period_seconds=3_600)

    assert risk.var_95 == pytest.approx(-0.01)
    assert risk.es_99 == pytest.approx(-0.01)


def test_a_return_after_equity_reached_zero_counts_as_zero():
    assert candle_returns([100.0, 0.0, 0.0]).tolist() == [-1.0, 0.0]


@pytest.mark.parametrize(
    ("equity", "message"),
    [
        ([100.0], "at least one close"),
        ([100.0, -1.0], "negative or non-finite"),
        ([100.0, float("nan")], "negative or non-finite"),
    ],
)
def test_a_curve_that_cannot_have_returns_is_refused_with_a_reason(equity, message):
    with pytest.raises(ValueError, match=message):
        tail_risk(equity, period_seconds=3_600)


@pytest.mark.parametrize("level", [0.4, 1.0, 95.0])
def test_a_confidence_level_outside_half_to_one_is_refused(level):
    with pytest.raises(ValueError, match=r"must be in \[0.5, 1\)"):
        historical_var(KNOWN, level)


def test_a_candle_period_of_zero_is_refused():
    with pytest.raises(ValueError, match="positive seconds"):
        tail_risk([1.0, 2.0], period_seconds=0)
