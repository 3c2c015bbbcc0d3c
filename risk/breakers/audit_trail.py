"""No new entries while the audit trail cannot be persisted; exits stay allowed.

Every cycle must leave a trace. When the trace store is unreachable the traces are spooled
locally and the chain stays intact, but an operator can no longer audit what the agent does in
the store, so by default (`on_trace_failure = "halt_entries"`) the account stops opening
positions until the spool has been flushed. `"continue"` trades on while spooling.
"""

from __future__ import annotations

from typing import ClassVar

from core.types import BreakerLimits, BreakerStage, TradingState
from risk.breakers.base import Cycle, Notice, PerCycleBreaker, Trip


class AuditTrailBreaker(PerCycleBreaker):
    """REDUCING while `cycle.unpersisted_traces > 0` (unless the policy is "continue"). Not
    latched and not stored: the first clean cycle after the flush trades normally. A trip and
    its reset are each one notice."""

    name: ClassVar[str] = "audit_trail"
    severity: ClassVar[TradingState] = TradingState.REDUCING

    def __init__(self, limits: BreakerLimits) -> None:
        super().__init__()
        self._limits = limits

    def evaluate(self, cycle: Cycle) -> Trip | None:
        backlog = cycle.unpersisted_traces
        if backlog <= 0 or self._limits.on_trace_failure == "continue":
            if self.last is not None:
                flushed = "trace store reachable again, spool flushed"
                self.notices.append(Notice("reset", BreakerStage.REDUCING, flushed))
            self.last = None
            return None
        reason = (
            f"no new entries: {backlog} trace(s) spooled locally, the trace store cannot be "
            "written (on_trace_failure = halt_entries)"
        )
        if self.last is None:
            self.notices.append(Notice("trip", BreakerStage.REDUCING, reason))
        self.last = Trip(self.name, TradingState.REDUCING, reason)
        return self.last
