"""Monthly and yearly returns of the agent's equity, by calendar period in UTC.

A candle's close belongs to the period its candle ends in (a close at midnight on the first of
a month is the last close of the month before), and each period's return runs from the equity
at the previous period's last close (the starting capital for the first) to its own last
close, so the periods compound exactly to the total return. A period the window covers only in
part (the first and last, usually) is flagged `partial`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from graphs.summary import iso


class PeriodReturn(BaseModel):
    model_config = ConfigDict(frozen=True)

    period: str
    """`2024-03` for a month, `2024` for a year."""
    start: str
    end: str
    """The period's bounds in UTC (end exclusive), whether or not the window covers them."""
    start_equity: float
    end_equity: float
    total_return: float
    partial: bool
    """The window starts after the period's start or ends before its end."""


class Periods(BaseModel):
    model_config = ConfigDict(frozen=True)

    monthly: list[PeriodReturn]
    yearly: list[PeriodReturn]


Bounds = Callable[[datetime], tuple[str, datetime, datetime]]


def _month(moment: datetime) -> tuple[str, datetime, datetime]:
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return f"{moment.year:04d}-{moment.month:02d}", start, end


def _year(moment: datetime) -> tuple[str, datetime, datetime]:
    start = datetime(moment.year, 1, 1, tzinfo=UTC)
    return f"{moment.year:04d}", start, datetime(moment.year + 1, 1, 1, tzinfo=UTC)


def period_returns(
    initial: float, window_start_ms: int, times_ms: Sequence[int], equity: Sequence[float]
) -> Periods:
    """Returns per month and per year of `equity` (one value per close at `times_ms`), from
    `initial` at `window_start_ms` (the first candle's open)."""
    return Periods(
        monthly=_by(_month, initial, window_start_ms, times_ms, equity),
        yearly=_by(_year, initial, window_start_ms, times_ms, equity),
    )


def _by(
    bounds: Bounds,
    initial: float,
    window_start_ms: int,
    times_ms: Sequence[int],
    equity: Sequence[float],
) -> list[PeriodReturn]:
    out: list[PeriodReturn] = []
    before = initial
    index = 0
    while index < len(times_ms):
        name, start, end = bounds(datetime.fromtimestamp((times_ms[index] - 1) / 1000, tz=UTC))
        end_ms = int(end.timestamp() * 1000)
        last = index
        while last + 1 < len(times_ms) and times_ms[last + 1] <= end_ms:
            last += 1
        after = equity[last]
        start_ms = int(start.timestamp() * 1000)
        out.append(
            PeriodReturn(
                period=name,
                start=iso(start_ms),
                end=iso(end_ms),
                start_equity=before,
                end_equity=after,
                total_return=after / before - 1.0 if before > 0 else 0.0,
                partial=(index == 0 and window_start_ms > start_ms) or times_ms[last] < end_ms,
            )
        )
        before, index = after, last + 1
    return out
