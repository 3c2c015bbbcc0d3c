"""The board runs the breakers its registry lists; demands and events carry typed stages."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from core.types import BreakerLimits, BreakerStage, TradingState
from risk.breakers import BreakerBoard, account_breakers
from risk.breakers.base import Cycle, StatefulBreaker, Trip, fields, flag
from risk.breakers.registry import AccountBreaker
from risk.store import MemoryLockStore
from tests.risk.breakers_support import (
    ACTIVE,
    DRAWDOWN_ONLY,
    HALTED,
    HOUR,
    NOW,
    REDUCING,
    board,
    market,
)

CRASH = (100.0, 96.0, 91.0, 86.0, 84.0)
HALT, SIZE_CUT = BreakerStage.HALT, BreakerStage.SIZE_CUT


class SundayBreaker(StatefulBreaker):
    """A breaker that exists only in this test: exits only once it has seen equity below 50,
    until resume. One module and one registry line, nothing in the board."""

    name: ClassVar[str] = "sunday"
    part: ClassVar[str] = "sunday"
    severity: ClassVar[TradingState] = TradingState.REDUCING

    def __init__(self) -> None:
        super().__init__()
        self.tripped = False

    def evaluate(self, cycle: Cycle) -> Trip | None:
        if not self.tripped and cycle.equity < 50:
            self.tripped, self.changed = True, True
            self.notify("trip", BreakerStage.REDUCING, "equity below 50: exits only")
        return self.current()

    def current(self) -> Trip | None:
        return Trip(self.name, REDUCING, "equity fell below 50") if self.tripped else None

    def rebase(self) -> None:
        self.tripped, self.changed = False, True

    def to_record(self) -> dict[str, Any]:
        return {"tripped": self.tripped}

    def load(self, record: object) -> None:
        self.tripped = flag(fields(record, "sunday"), "tripped", "sunday")

    def clear(self) -> None:
        self.tripped = False


def with_sunday(limits: BreakerLimits) -> list[AccountBreaker]:
    return [*account_breakers(limits), SundayBreaker()]


def test_the_registry_lists_every_account_breaker_with_its_severity_and_cadence() -> None:
    breakers = account_breakers(BreakerLimits())

    described = [(b.name, b.severity, b.measure) for b in breakers]

    assert described == [
        ("drawdown", HALTED, True),
        ("daily_loss", HALTED, True),
        ("loss_streak", REDUCING, True),
        ("error_rate", HALTED, False),
        ("llm_budget", REDUCING, True),
        ("stale_data", REDUCING, True),
        ("audit_trail", REDUCING, True),
    ]


def test_a_breaker_added_to_the_registry_is_run_stored_reported_and_rebased() -> None:
    store = MemoryLockStore()
    tracked = BreakerBoard(store, "paper-1", DRAWDOWN_ONLY, registry=with_sunday)

    tripped = tracked.update(40.0, market(), NOW)
    events = tracked.drain_events()
    stored = store.get("risk/paper-1/sunday")
    restarted = BreakerBoard(store, "paper-1", DRAWDOWN_ONLY, registry=with_sunday).status()
    resumed = tracked.resume("reviewed", NOW + HOUR)

    assert tripped.state is REDUCING
    assert [(d.breaker, d.stage) for d in tripped.demands] == [("sunday", BreakerStage.REDUCING)]
    assert [(e.kind, e.breaker, e.stage) for e in events] == [
        ("trip", "sunday", BreakerStage.REDUCING)
    ]
    assert stored == '{"tripped":true}'
    assert restarted.state is REDUCING
    assert resumed.state is ACTIVE and store.get("risk/paper-1/sunday") == '{"tripped":false}'


def test_a_registry_without_a_breaker_the_board_calls_is_refused() -> None:
    def no_drawdown(limits: BreakerLimits) -> list[AccountBreaker]:
        return account_breakers(limits)[1:]

    with pytest.raises(ValueError, match="must list one DrawdownBreaker"):
        BreakerBoard(MemoryLockStore(), "paper-1", DRAWDOWN_ONLY, registry=no_drawdown)


def test_drawdown_events_and_demands_name_each_stage() -> None:
    tracked = board()

    steps = [tracked.update(equity, market(), NOW + i * HOUR) for i, equity in enumerate(CRASH)]
    events = tracked.drain_events()

    assert [e.stage for e in events] == [SIZE_CUT, BreakerStage.REDUCING, HALT]
    assert [[(d.breaker, d.stage) for d in s.demands] for s in steps[2:]] == [
        [("drawdown", SIZE_CUT)],
        [("drawdown", BreakerStage.REDUCING)],
        [("kill_switch", HALT), ("drawdown", HALT)],
    ]
    assert [d.reason for d in steps[-1].demands] == list(steps[-1].reasons)


def test_a_reset_names_the_stage_it_left() -> None:
    tracked = board()
    for i, equity in enumerate((100.0, 89.0)):
        tracked.update(equity, market(), NOW + i * HOUR)
    tracked.drain_events()

    tracked.update(93.0, market(), NOW + 2 * HOUR)

    assert [(e.kind, e.stage) for e in tracked.drain_events()] == [("reset", BreakerStage.REDUCING)]


def test_manual_halt_resume_and_stale_data_are_staged() -> None:
    tracked = board()

    tracked.halt("exchange incident", NOW)
    tracked.resume("incident closed", NOW + HOUR)
    blocked = tracked.update(100.0, market("gap"), NOW + 2 * HOUR)

    assert [(e.kind, e.breaker, e.stage) for e in tracked.drain_events()] == [
        ("halt", "kill_switch", HALT),
        ("resume", "kill_switch", HALT),
        ("trip", "stale_data", BreakerStage.REDUCING),
    ]
    assert [(d.breaker, d.stage) for d in blocked.demands] == [
        ("stale_data", BreakerStage.REDUCING)
    ]
