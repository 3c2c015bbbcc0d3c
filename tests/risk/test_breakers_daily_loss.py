"""Daily loss limit: halted for the rest of the UTC day, through restarts; lifts the next day."""

from __future__ import annotations

from core.backends import Storage
from core.types import BreakerLimits
from risk.breakers import BreakerBoard
from risk.store import LockStore, MemoryLockStore
from tests.risk.breakers_support import (
    ACTIVE,
    DAY,
    HALTED,
    HOUR,
    MIDNIGHT,
    NOW,
    CountingStore,
    board,
    kinds,
    market,
)

DAILY = BreakerLimits(daily_loss_limit=0.03)


def daily_board(store: LockStore | None = None) -> BreakerBoard:
    return board(store if store is not None else MemoryLockStore(), limits=DAILY)


def test_daily_loss_halts_at_the_limit_and_not_just_below() -> None:
    tracked = daily_board()
    tracked.update(10_000.0, market(), NOW)

    below = tracked.update(9_701.0, market(), NOW + HOUR)
    at = tracked.update(9_700.0, market(), NOW + 2 * HOUR)

    assert below.state is ACTIVE
    assert at.state is HALTED
    assert not at.flatten
    assert "daily loss 3.00% >= limit 3.00%" in at.reasons[0]
    assert "10000.00 at the start of UTC day 2023-11-14" in at.reasons[0]
    assert kinds(tracked.drain_events()) == [("trip", "daily_loss")]


def test_loss_is_measured_from_the_first_update_of_the_utc_day() -> None:
    tracked = daily_board()
    tracked.update(10_000.0, market(), MIDNIGHT - HOUR)  # the day before
    tracked.update(9_800.0, market(), MIDNIGHT)  # first update of the new day

    snapshot = tracked.update(9_600.0, market(), MIDNIGHT + HOUR)  # 4% from yesterday, 2% today

    assert snapshot.state is ACTIVE


def test_daily_halt_holds_for_the_day_even_if_equity_recovers() -> None:
    tracked = daily_board()
    tracked.update(10_000.0, market(), NOW)
    tracked.update(9_600.0, market(), NOW + HOUR)

    snapshot = tracked.update(10_500.0, market(), NOW + 2 * HOUR)

    assert snapshot.state is HALTED


def test_daily_halt_survives_restart_and_lifts_at_the_next_utc_day(storage: Storage) -> None:
    first = daily_board(storage.state_store("risk_state"))
    first.update(10_000.0, market(), NOW)
    first.update(9_600.0, market(), NOW + HOUR)

    restarted = daily_board(storage.state_store("risk_state"))
    assert restarted.status().state is HALTED
    same_day = restarted.update(9_600.0, market(), MIDNIGHT + DAY - 1)
    restarted.drain_events()
    next_day = restarted.update(9_600.0, market(), MIDNIGHT + DAY)

    assert same_day.state is HALTED
    assert next_day.state is ACTIVE
    events = restarted.drain_events()
    assert kinds(events) == [("reset", "daily_loss")]
    assert "new UTC day 2023-11-15: daily loss halt lifted" in events[0].reason


def test_the_next_day_measures_from_its_own_first_equity() -> None:
    tracked = daily_board()
    tracked.update(10_000.0, market(), NOW)
    tracked.update(9_600.0, market(), NOW + HOUR)
    tracked.update(9_600.0, market(), MIDNIGHT + DAY)

    snapshot = tracked.update(9_400.0, market(), MIDNIGHT + DAY + HOUR)  # 2.1% today

    assert snapshot.state is ACTIVE


def test_explicit_resume_lifts_the_daily_halt_and_measures_afresh() -> None:
    tracked = daily_board()
    tracked.update(10_000.0, market(), NOW)
    tracked.update(9_600.0, market(), NOW + HOUR)

    resumed = tracked.resume("reviewed the loss", NOW + 2 * HOUR)
    after = tracked.update(9_600.0, market(), NOW + 3 * HOUR)
    small_loss = tracked.update(9_400.0, market(), NOW + 4 * HOUR)  # 2.1% from 9,600

    assert resumed.state is ACTIVE
    assert after.state is ACTIVE
    assert small_loss.state is ACTIVE


def test_a_clock_going_back_does_not_lift_the_daily_halt() -> None:
    tracked = daily_board()
    tracked.update(10_000.0, market(), NOW)
    tracked.update(9_600.0, market(), NOW + HOUR)

    snapshot = tracked.update(9_600.0, market(), NOW - DAY)

    assert snapshot.state is HALTED


def test_the_day_start_is_written_once_a_day() -> None:
    store = CountingStore()
    tracked = daily_board(store)
    tracked.update(10_000.0, market(), NOW)
    store.puts.clear()

    for hour in range(1, 5):
        tracked.update(9_990.0, market(), NOW + hour * HOUR)
    tracked.update(9_990.0, market(), MIDNIGHT + DAY)

    assert store.puts == ["risk/paper-1/daily_loss"]
