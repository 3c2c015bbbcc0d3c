"""The latch every halt goes through, manual or tripped; only an explicit release lifts it."""

from __future__ import annotations

from typing import Any

from core.types import TradingState
from risk.breakers.base import Cycle, Trip


class KillSwitch:
    """Engaged: trips HALTED on every cycle until released.

    It holds no I/O: the board saves `to_record()` in the store on every change and rebuilds the
    switch with `from_record` each cycle, which is what makes a halt survive restarts.
    """

    name = "kill_switch"

    def __init__(
        self, engaged: bool = False, reason: str = "", since_ms: int = 0, by: str = ""
    ) -> None:
        self.engaged = engaged
        self.reason = reason
        self.since_ms = since_ms
        self.by = by

    def engage(self, reason: str, now_ms: int, by: str) -> None:
        """Halt; a switch already engaged keeps its first reason and time."""
        if not self.engaged:
            self.engaged, self.reason, self.since_ms, self.by = True, reason, now_ms, by

    def release(self, reason: str, now_ms: int, by: str) -> None:
        self.engaged, self.reason, self.since_ms, self.by = False, reason, now_ms, by

    def evaluate(self, cycle: Cycle) -> Trip | None:
        return self.trip()

    def trip(self) -> Trip | None:
        if not self.engaged:
            return None
        reason = f"halted by {self.by} since {self.since_ms}: {self.reason}"
        return Trip(breaker=self.name, state=TradingState.HALTED, reason=reason)

    def to_record(self) -> dict[str, Any]:
        return {
            "engaged": self.engaged,
            "reason": self.reason,
            "since_ms": self.since_ms,
            "by": self.by,
        }

    @classmethod
    def from_record(cls, record: object) -> KillSwitch:
        """Rebuild from `to_record()`; raises ValueError on anything else."""
        if not isinstance(record, dict):
            raise ValueError("kill switch record is not an object")
        engaged, reason = record.get("engaged"), record.get("reason")
        since_ms, by = record.get("since_ms"), record.get("by")
        if not (
            isinstance(engaged, bool)
            and isinstance(reason, str)
            and type(since_ms) is int
            and isinstance(by, str)
        ):
            raise ValueError(f"kill switch record is malformed: {record!r}"[:200])
        return cls(engaged=engaged, reason=reason, since_ms=since_ms, by=by)
