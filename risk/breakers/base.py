"""What every circuit breaker shares: the inputs of a cycle, a trip, an audit event, severity.

A breaker looks at one cycle and either trips (returns a Trip naming the trading state it
demands and why) or does not. The board decides what a trip means over time: a HALTED trip is
latched in the store; a REDUCING trip holds for that cycle only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from core.types import MarketSnapshot, TradingState

_SEVERITY: Final = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass(frozen=True, slots=True)
class Cycle:
    """What the breakers see each decision cycle."""

    equity: float
    market: MarketSnapshot
    now_ms: int


class Trip(BaseModel):
    """A breaker demanding a trading state, and why, in words an operator can act on."""

    model_config = ConfigDict(frozen=True)

    breaker: str
    state: TradingState
    reason: str


EventKind = Literal["trip", "halt", "resume"]


class BreakerEvent(BaseModel):
    """One trip, manual halt or resume, for the audit trace."""

    model_config = ConfigDict(frozen=True)

    ts: int
    kind: EventKind
    breaker: str
    reason: str


class Breaker(Protocol):
    """A circuit breaker: looks at one cycle, trips or not."""

    @property
    def name(self) -> str: ...

    def evaluate(self, cycle: Cycle) -> Trip | None: ...


def most_severe(states: Iterable[TradingState]) -> TradingState:
    """HALTED over REDUCING over ACTIVE; ACTIVE when nothing tripped."""
    return max(states, key=_SEVERITY.__getitem__, default=TradingState.ACTIVE)
