"""No new entries while the market data cannot be trusted; exits stay allowed."""

from __future__ import annotations

from typing import ClassVar, Final

from core.types import BreakerStage, TradingState
from risk.breakers.base import Cycle, Notice, PerCycleBreaker, Trip

BLOCKING_ISSUES: Final = frozenset({"stale", "gap", "zero_volume", "outlier"})


class StaleDataBreaker(PerCycleBreaker):
    """Trips REDUCING for this cycle on a data issue of kind stale, gap, zero_volume or outlier
    (the observe step's data checks; "stale" already covers no fresh candle for
    stale_after_periods periods). Not latched and not stored: each cycle is decided anew, the
    next clean cycle trades normally, and each blocked cycle is one notice (no reset notice)."""

    name: ClassVar[str] = "stale_data"
    severity: ClassVar[TradingState] = TradingState.REDUCING

    def evaluate(self, cycle: Cycle) -> Trip | None:
        market = cycle.market
        found = [issue for issue in market.issues if issue.kind in BLOCKING_ISSUES]
        if not found:
            self.last = None
            return None
        described = "; ".join(f"{issue.kind}: {issue.detail}" for issue in found)
        reason = f"no new entries this cycle, data issues: {described}"
        self.last = Trip(self.name, TradingState.REDUCING, reason)
        self.notices.append(Notice("trip", BreakerStage.REDUCING, reason))
        return self.last
