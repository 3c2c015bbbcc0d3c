"""No new entries once the analyst's LLM budget is spent: a decision made without it is blind."""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal, get_args

from core.types import BreakerStage, TradingState
from risk.breakers.base import (
    DAY_MS,
    Cycle,
    StatefulBreaker,
    Trip,
    fields,
    integer,
    text,
    utc,
    utc_day,
)

BudgetScope = Literal["run", "day"]
"""run: the run's budget, spent until a person resumes; day: the UTC day's, back tomorrow."""

SCOPES: Final[tuple[str, ...]] = get_args(BudgetScope)
MAX_REASON: Final = 200
"""The analyst's reason is cut to this length (the caller must not pass secrets in it)."""


class LlmBudgetBreaker(StatefulBreaker):
    """Trips REDUCING (exits and flatten still allowed) when `record` says a token or dollar
    budget of the analyst ran out: without the analyst the account may not open positions, but
    it must still be able to leave the ones it holds. Not latched in the kill switch: its own
    record is the latch, with its own expiry.

    Scope "day" lifts by itself at the first update of a later UTC day (by `now_ms`) than the
    trip, with a reset notice; scope "run" holds until resume. A stop already in force keeps
    its first reason and logs nothing when recorded again (the analyst reports it each cycle);
    a run stop recorded over a day stop widens it (a new trip), a day stop never narrows a run
    stop.

    Stored: the scope, the analyst's reason and the time of the trip; saved when it trips,
    widens or lifts. Time going backwards does not start a new day.
    """

    name: ClassVar[str] = "llm_budget"
    part: ClassVar[str] = "llm_budget"
    severity: ClassVar[TradingState] = TradingState.REDUCING

    def __init__(self) -> None:
        super().__init__()
        self.scope: BudgetScope | None = None
        self.reason = ""
        self.since_ms = 0

    def record(self, scope: BudgetScope, reason: str, now_ms: int) -> None:
        """A budget of `scope` is spent; trip, or widen a day stop to a run stop."""
        if scope not in SCOPES:
            raise ValueError(f"LLM budget scope {scope!r} is not one of {', '.join(SCOPES)}")
        self._expire(now_ms)
        if self.scope == scope or self.scope == "run":
            return
        self.scope, self.since_ms = scope, now_ms
        self.reason = " ".join(str(reason).split())[:MAX_REASON] or f"LLM {scope} budget spent"
        self.changed = True
        self.notify("trip", BreakerStage.REDUCING, self._describe())

    def evaluate(self, cycle: Cycle) -> Trip | None:
        self._expire(cycle.now_ms)
        return self.current()

    def current(self) -> Trip | None:
        if self.scope is None:
            return None
        return Trip(self.name, TradingState.REDUCING, f"{self.name}: {self._describe()}")

    def rebase(self) -> None:
        """After a resume: the stop of either scope is lifted."""
        self.clear()
        self.changed = True

    def to_record(self) -> dict[str, Any]:
        if self.scope is None:
            return {"scope": None}
        return {"scope": self.scope, "reason": self.reason, "since_ms": self.since_ms}

    def load(self, record: object) -> None:
        what = "llm budget"
        values = fields(record, what)
        scope = values.get("scope")
        if scope is None:
            self.clear()
            return
        if scope in SCOPES:
            reason, since_ms = text(values, "reason", what), integer(values, "since_ms", what)
            self.scope, self.reason, self.since_ms = scope, reason[:MAX_REASON], since_ms
            return
        raise ValueError(f"{what} record scope={scope!r} is not one of {', '.join(SCOPES)}"[:200])

    def clear(self) -> None:
        self.scope, self.reason, self.since_ms = None, "", 0

    def _expire(self, now_ms: int) -> None:
        """Lift a day stop at a later UTC day than its trip."""
        day = now_ms // DAY_MS
        if self.scope != "day" or day <= self.since_ms // DAY_MS:
            return
        self.notify(
            "reset",
            BreakerStage.REDUCING,
            f"new UTC day {utc_day(day)}: LLM budget stop lifted ({self.reason})",
        )
        self.clear()
        self.changed = True

    def _describe(self) -> str:
        until = (
            f"the next UTC day ({utc_day(self.since_ms // DAY_MS + 1)})"
            if self.scope == "day"
            else "resume"
        )
        return f"{self.reason} (at {utc(self.since_ms)}): no new entries until {until}"
