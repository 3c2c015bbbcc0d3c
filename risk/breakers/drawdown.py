"""Halt when equity falls too far below its high-water mark."""

from __future__ import annotations

import math

from core.types import TradingState
from risk.breakers.base import Cycle, Trip


class DrawdownBreaker:
    """Tracks the equity high-water mark; trips HALTED at drawdown >= `halt_at`.

    The board loads the mark and the last equity from the store before a cycle and saves them
    after, so the mark survives restarts. Equity that is not a finite number trips too: the
    account's value is unknown, so nothing new may be sent.
    """

    name = "drawdown"

    def __init__(
        self,
        halt_at: float,
        high_water_mark: float | None = None,
        last_equity: float | None = None,
    ) -> None:
        self.halt_at = halt_at
        self.high_water_mark = high_water_mark
        self.last_equity = last_equity

    def drawdown(self, equity: float) -> float:
        """Fall from the high-water mark as a fraction of it; 1.0 when there is nothing left."""
        mark = self.high_water_mark
        if mark is None:
            return 0.0
        if mark <= 0:
            return 1.0
        return max(0.0, (mark - equity) / mark)

    def evaluate(self, cycle: Cycle) -> Trip | None:
        equity = cycle.equity
        if isinstance(equity, bool) or not isinstance(equity, int | float):
            return self._trip(f"equity is a {type(equity).__name__}, not a number")
        if not math.isfinite(equity):
            return self._trip(f"equity={equity} is not a finite number")
        self.last_equity = float(equity)
        if self.high_water_mark is None or equity > self.high_water_mark:
            self.high_water_mark = float(equity)
        drawdown = self.drawdown(equity)
        if drawdown >= self.halt_at:
            return self._trip(
                f"drawdown {drawdown:.2%} >= halt at {self.halt_at:.2%} "
                f"(equity={equity:.2f}, high-water mark={self.high_water_mark:.2f})"
            )
        return None

    def rebase(self) -> None:
        """Restart the mark from the last equity seen: an operator resumed after a halt."""
        self.high_water_mark = self.last_equity

    def _trip(self, reason: str) -> Trip:
        return Trip(breaker=self.name, state=TradingState.HALTED, reason=reason)
