"""Halt when exchange or LLM failures come too fast, or keep coming without a success."""

from __future__ import annotations

from typing import Any, ClassVar, Final

from core.types import BreakerLimits, TradingState
from risk.breakers.base import Cycle, StatefulBreaker, Trip, fields, utc

MAX_DETAIL: Final = 200
"""Stored error text is cut to this length (the caller must not pass secrets in it)."""


class ErrorRateBreaker(StatefulBreaker):
    """Trips a latched HALTED when `record_error` brings the errors of the last
    error_window_minutes (by `now_ms`, both ends inclusive) to max_errors, or when one source
    has failed error_consecutive times in a row.

    The count in a row is what catches a dead service on slow candles: an analyst asked once
    an hour fails at most once an hour, which no 60-minute window counts to 5. It is kept per
    source (an analyst answer says nothing of the exchange) and `record_success` of that source
    resets it.

    The trip happens at `record_error`, not at the next update: the board latches it in the
    kill switch at once, so it holds until resume (which clears the window and the counts).
    Cycles see it through the kill switch, which is why `evaluate` demands nothing of its own.

    Stored: the time and text of the most recent errors still in the window (at most
    max_errors of them) and the failures in a row per source, saved at each change.
    """

    name: ClassVar[str] = "error_rate"
    part: ClassVar[str] = "errors"
    severity: ClassVar[TradingState] = TradingState.HALTED
    measure: ClassVar[bool] = False
    """Read when an error or a success is recorded; a trip latches at once, so cycles see it
    through the kill switch."""

    def __init__(self, limits: BreakerLimits | None = None) -> None:
        super().__init__()
        limits = limits or BreakerLimits()
        self.max_errors = limits.max_errors
        self.max_in_a_row = limits.error_consecutive
        self.minutes = limits.error_window_minutes
        self.window_ms = round(limits.error_window_minutes * 60_000)
        self.errors: list[tuple[int, str]] = []
        self.in_a_row: dict[str, int] = {}

    def record_error(self, source: str, detail: str, now_ms: int) -> Trip | None:
        """Count one failure; the latched halt it demands, if this one reaches a limit."""
        since = now_ms - self.window_ms
        recent = [error for error in self.errors if error[0] >= since]
        recent.append((now_ms, f"{source}: {detail}"[:MAX_DETAIL]))
        self.errors = recent[-self.max_errors :]
        self.in_a_row[source] = self.in_a_row.get(source, 0) + 1
        self.changed = True
        last = self.errors[-1][1]
        if len(self.errors) >= self.max_errors:
            first = self.errors[0][0]
            reason = (
                f"{len(self.errors)} errors within {self.minutes:g} min (limit {self.max_errors}, "
                f"the first at {utc(first)}), the last: {last}"
            )
        elif self.in_a_row[source] >= self.max_in_a_row:
            reason = (
                f"{self.in_a_row[source]} {source} failures in a row without a success "
                f"(limit {self.max_in_a_row}, the last at {utc(now_ms)}): {last}"
            )
        else:
            return None
        return Trip(self.name, TradingState.HALTED, reason, latch=True)

    def record_success(self, source: str) -> None:
        """`source` worked: its failures are no longer in a row (the window keeps them)."""
        if self.in_a_row.pop(source, 0):
            self.changed = True

    def evaluate(self, cycle: Cycle) -> Trip | None:
        return None

    def current(self) -> Trip | None:
        return None

    def rebase(self) -> None:
        """After a resume: the window starts empty, and so do the counts in a row."""
        self.errors = []
        self.in_a_row = {}
        self.changed = True

    def to_record(self) -> dict[str, Any]:
        return {
            "errors": [[ts, detail] for ts, detail in self.errors],
            "in_a_row": dict(sorted(self.in_a_row.items())),
        }

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
        counts = values.get("in_a_row", {})  # absent from records written before it existed
        if not isinstance(counts, dict) or not all(
            isinstance(source, str) and type(n) is int and n > 0 for source, n in counts.items()
        ):
            raise ValueError(f"errors record in_a_row={counts!r} is not counts per source"[:200])
        self.errors = errors
        self.in_a_row = dict(counts)

    def clear(self) -> None:
        self.errors = []
        self.in_a_row = {}
