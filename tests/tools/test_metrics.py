import pytest

from tools.metrics import max_drawdown, total_return


def test_max_drawdown_is_the_largest_fall_from_a_peak_as_a_positive_fraction():
    assert max_drawdown([100, 120, 90, 130, 117]) == pytest.approx(0.25)


def test_max_drawdown_of_a_rising_curve_is_zero():
    assert max_drawdown([1, 2, 3]) == 0.0


def test_total_return():
    assert total_return([100, 150]) == pytest.approx(0.5)
