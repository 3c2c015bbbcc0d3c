"""Halt when exchange or LLM failures come too fast."""

from __future__ import annotations

from typing import Any, ClassVar, Final

from core.types import BreakerLimits, TradingState
from risk.breakers.base import Cycle, StatefulBreaker, Trip, fields, utc

MAX_DETAIL: Final = 200
"""Stored error text is cut to this length (the caller must not pass secrets in it)."""


class ErrorRateBreaker(StatefulBreaker):
    """Trips a latched HALTED when `record_error` brings the errors of the last
    error_window_minutes (by `now_ms`, both ends inclusive) to max_errors.

    The trip happens at `record_error`, not at the next update: the board latches it in the
    kill switch at once, so it holds until resume (which clears the window). Cycles see it
    through the kill switch, which is why `evaluate` demands nothing of its own.

    Stored: the time and text of the most recent errors still in the window (at most
    max_errors of them), saved at each error.
    """

    name: ClassVar[str] = "error_rate"
    part: ClassVar[str] = "errors"

    def __init__(self, limits: BreakerLimits | None = None) -> None:
        super().__init__()
        limits = limits or BreakerLimits()
        self.max_errors = limits.max_errors
        self.minutes = limits.error_window_minutes
        self.window_ms = round(limits.error_window_minutes * 60_000)
        self.errors: list[tuple[int, str]] = []

    def record_error(self, source: str, detail: str, now_ms: int) -> Trip | None:
        """Count one failure; the latched halt it demands, if this one reaches the limit."""
        since = now_ms - self.window_ms
        recent = [error for error in self.errors if error[0] >= since]
        recent.append((now_ms, f"{source}: {detail}"[:MAX_DETAIL]))
        self.errors = recent[-self.max_errors :]
        self.changed = True
        if len(self.errors) < self.max_errors:
            return None
        first, (_, last) = self.errors[0][0], self.errors[-1]
        reason = (
            f"{len(self.errors)} errors within {self.minutes:g} min (limit {self.max_errors}, "
            f"the first at {utc(first)}), the last: {last}"
        )
        return Trip(self.name, TradingState.HALTED, reason, latch=True)

    def evaluate(self, cycle: Cycle) -> Trip | None:
        return None

    def current(self) -> Trip | None:
        return None

    def rebase(self) -> None:
        """After a resume: the window starts empty."""
        self.errors = []
        self.changed = True

    def to_record(self) -> dict[str, Any]:
        return {"errors": [[ts, detail] for ts, detail in self.errors]}

    def load(self, record: object) -> None:
        values = fields(record, "errors")
        stored = values.get("errors")
        if not isinstance(stored, list):
            raise ValueError("errors record has no list of errors")
        errors: list[tuple[int, str]] = []
        for item in stored:
            if not (
                isinstance(item, list)
                and len(item) == 2
                and type(item[0]) is int
                and isinstance(item[1], str)
            ):
                raise ValueError(f"errors record entry {item!r} is not [ms, text]"[:200])
            errors.append((item[0], item[1]))
        self.errors = errors

    def clear(self) -> None:
        self.errors = []
