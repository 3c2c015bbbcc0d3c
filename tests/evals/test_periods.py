"""Monthly and yearly returns: calendar periods in UTC that compound to the total return."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from evals.periods import period_returns

DAY = timedelta(days=1)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _daily(start: datetime, days: int, growth: float = 1.001):
    """Closes of daily candles opening at `start`, and equity growing `growth` a day."""
    closes = [_ms(start + DAY * (k + 1)) for k in range(days)]
    return closes, [1_000.0 * growth ** (k + 1) for k in range(days)]


def test_monthly_and_yearly_returns_compound_to_the_total_return():
    start = datetime(2023, 11, 17, tzinfo=UTC)
    times, equity = _daily(start, 120, growth=1.002)
    equity[40] *= 0.9  # one bad day, so months differ

    periods = period_returns(1_000.0, _ms(start), times, equity)

    total = equity[-1] / 1_000.0 - 1.0
    for rows in (periods.monthly, periods.yearly):
        assert math.prod(1 + p.total_return for p in rows) - 1 == pytest.approx(total)
    assert [p.period for p in periods.monthly] == ["2023-11", "2023-12", "2024-01", "2024-02",
                                                   "2024-03"]  # fmt: skip
    assert [p.period for p in periods.yearly] == ["2023", "2024"]


def test_the_first_and_last_periods_are_partial_the_full_ones_are_not():
    start = datetime(2023, 11, 17, tzinfo=UTC)
    times, equity = _daily(start, 120)

    monthly = period_returns(1_000.0, _ms(start), times, equity).monthly

    assert [p.partial for p in monthly] == [True, False, False, False, True]


def test_a_close_at_midnight_on_the_first_belongs_to_the_month_before():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    times, equity = _daily(start, 31)  # the last close is 2024-02-01T00:00

    monthly = period_returns(1_000.0, _ms(start), times, equity).monthly

    assert [(p.period, p.partial) for p in monthly] == [("2024-01", False)]
    assert monthly[0].end_equity == equity[-1]
    assert monthly[0].start == "2024-01-01T00:00:00Z" and monthly[0].end == "2024-02-01T00:00:00Z"
