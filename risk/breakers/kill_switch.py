"""The latch every lasting halt goes through, manual or tripped; only an explicit release lifts it.

Each account has one (`risk/<account>/kill_switch`); one more, shared by every account in the
store, is the global kill switch (`risk/global/kill_switch`), engaged and released by
`halt_all` / `resume_all` (the CLI, from another process).
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.types import TradingState
from risk.breakers.base import Cycle, StatefulBreaker, Trip, fields, flag, integer, text, utc
from risk.breakers.keys import GLOBAL_KILL_KEY


class KillSwitch(StatefulBreaker):
    """Engaged: trips HALTED on every cycle until released; `flatten` rides along with it.

    It holds no I/O: the board saves `to_record()` when it changes and reloads it whenever the
    stored text changes, which is what makes a halt survive restarts and lets a resume from
    another process take effect at the next cycle.
    """

    name: ClassVar[str] = "kill_switch"
    part: ClassVar[str] = "kill_switch"
    halted: ClassVar[str] = "halted"
    severity: ClassVar[TradingState] = TradingState.HALTED
    measure: ClassVar[bool] = False
    """Re-read every cycle all the same, but as a switch: a change is logged, not evaluated."""

    def __init__(
        self,
        engaged: bool = False,
        reason: str = "",
        since_ms: int = 0,
        by: str = "",
        flatten: bool = False,
    ) -> None:
        super().__init__()
        self.engaged, self.reason, self.since_ms, self.by = engaged, reason, since_ms, by
        self.flatten = flatten

    def engage(self, reason: str, now_ms: int, by: str, *, flatten: bool = False) -> bool:
        """Halt. A switch already engaged keeps its first reason and time, but a request to
        flatten is added to it. True when the record changed."""
        if not self.engaged:
            self.engaged, self.reason, self.since_ms, self.by = True, reason, now_ms, by
            self.flatten = flatten
        elif flatten and not self.flatten:
            self.flatten = True
        else:
            return False
        self.changed = True
        return True

    def release(self, reason: str, now_ms: int, by: str) -> bool:
        """Lift the halt (and any flatten request). True when it was engaged."""
        was = self.engaged
        self.engaged, self.reason, self.since_ms, self.by = False, reason, now_ms, by
        self.flatten = False
        self.changed = True
        return was

    def evaluate(self, cycle: Cycle) -> Trip | None:
        return self.current()

    def current(self) -> Trip | None:
        if not self.engaged:
            return None
        flatten = ", flatten requested" if self.flatten else ""
        reason = f"{self.halted} by {self.by} since {utc(self.since_ms)}{flatten}: {self.reason}"
        return Trip(
            breaker=self.name,
            state=TradingState.HALTED,
            reason=reason,
            latch=True,
            flatten=self.flatten,
        )

    def trip(self) -> Trip | None:
        return self.current()

    def to_record(self) -> dict[str, Any]:
        return {
            "engaged": self.engaged,
            "reason": self.reason,
            "since_ms": self.since_ms,
            "by": self.by,
            "flatten": self.flatten,
        }

    def load(self, record: object) -> None:
        """Take the state of `to_record()`; raises ValueError on anything else."""
        what = "kill switch"
        values = fields(record, what)
        engaged = flag(values, "engaged", what)
        reason, by = text(values, "reason", what), text(values, "by", what)
        since_ms = integer(values, "since_ms", what)
        flatten = flag(values, "flatten", what, default=False)  # absent in older records
        self.engaged, self.reason, self.since_ms, self.by = engaged, reason, since_ms, by
        self.flatten = flatten

    def clear(self) -> None:
        self.engaged, self.reason, self.since_ms, self.by, self.flatten = False, "", 0, "", False

    @classmethod
    def from_record(cls, record: object) -> KillSwitch:
        """Rebuild from `to_record()`; raises ValueError on anything else."""
        switch = cls()
        switch.load(record)
        return switch


class GlobalKillSwitch(KillSwitch):
    """The kill switch shared by every account in a store: any engaged one halts them all."""

    name: ClassVar[str] = "global_kill_switch"
    halted: ClassVar[str] = "all accounts halted"

    def key(self, account: str) -> str:
        """One record for every account in the store."""
        return GLOBAL_KILL_KEY
