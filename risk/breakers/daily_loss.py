"""Halt for the rest of the UTC day once the day's loss reaches the daily limit."""

from __future__ import annotations

from typing import Any, ClassVar

from core.types import BreakerLimits, BreakerStage, TradingState
from risk.breakers.base import (
    DAY_MS,
    Cycle,
    StatefulBreaker,
    Trip,
    fields,
    finite,
    integer_or_none,
    number_or_none,
    text_or_none,
    utc_day,
)


class DailyLossBreaker(StatefulBreaker):
    """Loss measured from the equity at the first update of the UTC day (by `now_ms`).

    At loss >= daily_loss_limit it trips HALTED and stays so for the rest of that UTC day,
    however equity moves; the halt is stored, so it survives a restart. It lifts by itself at
    the first update of a later UTC day (a reset notice), or by an explicit resume, after which
    the loss is measured afresh from the equity of the next update (for the rest of that day).
    It is not latched in the kill switch: its own record is the latch, with its own expiry.

    Stored: the day, its starting equity and the halt reason; saved once a day and when the
    halt trips or lifts. Time going backwards does not start a new day.
    """

    name: ClassVar[str] = "daily_loss"
    part: ClassVar[str] = "daily_loss"
    severity: ClassVar[TradingState] = TradingState.HALTED

    def __init__(self, limits: BreakerLimits | None = None) -> None:
        super().__init__()
        self.limit = (limits or BreakerLimits()).daily_loss_limit
        self.day: int | None = None
        self.start_equity: float | None = None
        self.halted: str | None = None
        self.loss = 0.0

    def evaluate(self, cycle: Cycle) -> Trip | None:
        equity = finite(cycle.equity)
        if equity is None:
            return self.current()  # unknown equity: the drawdown breaker halts on it
        day = cycle.now_ms // DAY_MS
        if self.day is None or day > self.day:
            if self.halted is not None:
                self.notify(
                    "reset",
                    BreakerStage.HALT,
                    f"new UTC day {utc_day(day)}: daily loss halt lifted ({self.halted})",
                )
                self.halted = None
            self.day, self.start_equity = day, equity
            self.changed = True
        elif self.start_equity is None:
            self.start_equity = equity
            self.changed = True
        start = self.start_equity
        self.loss = (start - equity) / start if start > 0 else 0.0
        if self.halted is None and self.loss >= self.limit:
            self.halted = (
                f"daily loss {self.loss:.2%} >= limit {self.limit:.2%} (equity={equity:.2f}, "
                f"{start:.2f} at the start of UTC day {utc_day(day)}): "
                "halted until the next UTC day"
            )
            self.notify("trip", BreakerStage.HALT, self.halted)
            self.changed = True
        return self.current()

    def current(self) -> Trip | None:
        if self.halted is None:
            return None
        return Trip(self.name, TradingState.HALTED, self.halted)

    def rebase(self) -> None:
        """After a resume: lift the halt; the next update is the new start of the day."""
        self.start_equity, self.halted = None, None
        self.changed = True

    def to_record(self) -> dict[str, Any]:
        return {"day": self.day, "start_equity": self.start_equity, "halted": self.halted}

    def load(self, record: object) -> None:
        what = "daily loss"
        values = fields(record, what)
        day = integer_or_none(values, "day", what)
        start = number_or_none(values, "start_equity", what)
        halted = text_or_none(values, "halted", what)
        self.day, self.start_equity, self.halted = day, start, halted

    def clear(self) -> None:
        self.day, self.start_equity, self.halted, self.loss = None, None, None, 0.0
