"""What every circuit breaker shares: a cycle's inputs, a trip, audit events, severity.

A breaker looks at one cycle and says what it demands now (`evaluate`, then `current`): a Trip
naming a trading state and why, or None. Breakers with memory (drawdown, daily loss, loss
streak, error rate, kill switch) keep it in a plain record that the board loads from and saves
to the LockStore; they say what changed through `changed` (save me) and `notices` (log me).
Breakers do no I/O: the board owns the store, the clock is the `now_ms` it is given.

Each breaker class also says how the board runs it: `severity` (the most severe state it can
demand; the board lists the most severe breakers first), `measure` (re-read from the store and
evaluated at every update, rather than only when something is recorded to it) and, for those
with a stored record, `part` (where the record lives). The board runs the breakers that
`registry.account_breakers` lists, so a new breaker is its own module and one line there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Protocol

from core.types import (
    BreakerDemand,
    BreakerStage,
    EventKind,
    MarketSnapshot,
    TradingState,
)
from risk.breakers.keys import account_key

_SEVERITY: Final = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
DAY_MS: Final = 86_400_000


@dataclass(frozen=True, slots=True)
class Cycle:
    """What the breakers see each decision cycle."""

    equity: float
    market: MarketSnapshot
    now_ms: int
    unpersisted_traces: int = 0
    """Traces spooled locally because the trace store could not be written."""


@dataclass(frozen=True, slots=True)
class Trip:
    """A breaker's demand: a trading state, why (in words an operator can act on), and whether
    the halt must be latched until resume, positions flattened, opening sizes scaled."""

    breaker: str
    state: TradingState
    reason: str
    latch: bool = False
    flatten: bool = False
    size_multiplier: float = 1.0

    @property
    def stage(self) -> BreakerStage:
        """HALTED is the halt stage, REDUCING the reducing one; a demand that leaves trading
        ACTIVE can only cut sizes."""
        return _STAGES.get(self.state, BreakerStage.SIZE_CUT)

    def demand(self) -> BreakerDemand:
        return BreakerDemand(breaker=self.breaker, stage=self.stage, reason=self.reason)


_STAGES: Final = {
    TradingState.HALTED: BreakerStage.HALT,
    TradingState.REDUCING: BreakerStage.REDUCING,
}


@dataclass(frozen=True, slots=True)
class Notice:
    """An event as a breaker reports it; the board adds the time, the breaker and the account."""

    kind: EventKind
    stage: BreakerStage
    reason: str


class PerCycleBreaker:
    """What the breakers decided anew each cycle (never stored) share: the demand of the last
    evaluation, and the notices not yet taken by the board. Every one is a measure."""

    name: ClassVar[str]
    severity: ClassVar[TradingState]
    measure: ClassVar[bool] = True

    def __init__(self) -> None:
        self.last: Trip | None = None
        self.notices: list[Notice] = []

    def evaluate(self, cycle: Cycle) -> Trip | None:
        raise NotImplementedError

    def current(self) -> Trip | None:
        return self.last

    def take_notices(self) -> list[Notice]:
        taken, self.notices = self.notices, []
        return taken


class Breaker(Protocol):
    """A circuit breaker: looks at one cycle and says what it demands."""

    @property
    def name(self) -> str: ...

    def evaluate(self, cycle: Cycle) -> Trip | None: ...

    def current(self) -> Trip | None: ...


class StatefulBreaker:
    """Plumbing for breakers with a stored record: notices to log and a flag to save.

    Subclasses implement `evaluate(cycle)` and `current()`, `to_record()`, `load(record)`
    (raising ValueError on anything it did not write), `clear()` (the state of an account never
    seen) and `rebase()` (start afresh after a resume).
    """

    name: ClassVar[str]
    part: ClassVar[str]
    """The last segment of the store key, `risk/<account>/<part>`."""
    severity: ClassVar[TradingState]
    measure: ClassVar[bool] = True

    def __init__(self) -> None:
        self.changed = False
        self.notices: list[Notice] = []

    def key(self, account: str) -> str:
        """Where this breaker's record of `account` lives in the store."""
        return account_key(account, self.part)

    def notify(self, kind: EventKind, stage: BreakerStage, reason: str) -> None:
        self.notices.append(Notice(kind, stage, reason))

    def evaluate(self, cycle: Cycle) -> Trip | None:
        raise NotImplementedError

    def current(self) -> Trip | None:
        raise NotImplementedError

    def take_notices(self) -> list[Notice]:
        taken, self.notices = self.notices, []
        return taken

    def to_record(self) -> dict[str, Any]:
        raise NotImplementedError

    def load(self, record: object) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def rebase(self) -> None:
        raise NotImplementedError


def rank(state: TradingState) -> int:
    """How severe a state is: ACTIVE 0, REDUCING 1, HALTED 2."""
    return _SEVERITY[state]


def most_severe(states: Iterable[TradingState]) -> TradingState:
    """HALTED over REDUCING over ACTIVE; ACTIVE when nothing tripped."""
    return max(states, key=_SEVERITY.__getitem__, default=TradingState.ACTIVE)


def utc(ms: int) -> str:
    """A time for reasons and events: 2023-11-14T22:13Z."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def utc_day(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")


def finite(value: object) -> float | None:
    """`value` as a float when it is a real, finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# --- reading stored records: anything unexpected is a ValueError (the board fails closed) ---


def fields(record: object, what: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ValueError(f"{what} record is not an object")
    return record


def number_or_none(record: dict[str, Any], key: str, what: str) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    number = finite(value)
    if number is None:
        raise ValueError(f"{what} record {key}={value!r} is not a finite number")
    return number


def integer(record: dict[str, Any], key: str, what: str, *, default: int | None = None) -> int:
    value = record.get(key, default)
    if type(value) is not int:
        raise ValueError(f"{what} record {key}={value!r} is not an integer")
    return value


def integer_or_none(record: dict[str, Any], key: str, what: str) -> int | None:
    return None if record.get(key) is None else integer(record, key, what)


def text(record: dict[str, Any], key: str, what: str, *, default: str | None = None) -> str:
    value = record.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{what} record {key}={value!r} is not a string")
    return value


def text_or_none(record: dict[str, Any], key: str, what: str) -> str | None:
    return None if record.get(key) is None else text(record, key, what)


def flag(record: dict[str, Any], key: str, what: str, *, default: bool | None = None) -> bool:
    value = record.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{what} record {key}={value!r} is not true or false")
    return value
