"""Circuit breakers: one small class per breaker, run together by the BreakerBoard."""

from risk.breakers.base import Breaker, BreakerEvent, Cycle, Trip, most_severe
from risk.breakers.board import BreakerBoard
from risk.breakers.drawdown import DrawdownBreaker
from risk.breakers.kill_switch import KillSwitch
from risk.breakers.stale_data import StaleDataBreaker

__all__ = [
    "Breaker",
    "BreakerBoard",
    "BreakerEvent",
    "Cycle",
    "DrawdownBreaker",
    "KillSwitch",
    "StaleDataBreaker",
    "Trip",
    "most_severe",
]
