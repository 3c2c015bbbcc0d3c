"""No new entries while the market data cannot be trusted; exits stay allowed."""

from __future__ import annotations

from typing import Final

from core.types import TradingState
from risk.breakers.base import Cycle, Trip

BLOCKING_ISSUES: Final = frozenset({"stale", "gap", "zero_volume"})


class StaleDataBreaker:
    """Trips REDUCING for this cycle on stale data, a gap or a zero-volume candle. Not latched:
    the next cycle with clean data trades normally again."""

    name = "stale_data"

    def evaluate(self, cycle: Cycle) -> Trip | None:
        market = cycle.market
        found = [issue for issue in market.issues if issue.kind in BLOCKING_ISSUES]
        if not found and not market.stale:
            return None
        described = "; ".join(f"{issue.kind}: {issue.detail}" for issue in found) or "stale"
        reason = f"no new entries this cycle, data issues: {described}"
        return Trip(breaker=self.name, state=TradingState.REDUCING, reason=reason)
