"""The breaker board on scripted paths: a crash, a restart, a resume, broken records, writes.

Each breaker has its own file (test_breakers_<breaker>.py); this one tests them together.
"""

from __future__ import annotations

import pytest

from core.backends import Storage
from core.types import BreakerLimits, BreakerSnapshot
from risk.breakers import Breaker, BreakerBoard, most_severe
from risk.breakers.base import Cycle
from risk.breakers.daily_loss import DailyLossBreaker
from risk.breakers.drawdown import DrawdownBreaker
from risk.breakers.error_rate import ErrorRateBreaker
from risk.breakers.kill_switch import GlobalKillSwitch, KillSwitch
from risk.breakers.loss_streak import LossStreakBreaker
from risk.breakers.stale_data import StaleDataBreaker
from risk.store import MemoryLockStore
from tests.risk.breakers_support import (
    ACTIVE,
    HALTED,
    HOUR,
    NOW,
    REDUCING,
    BrokenStore,
    CountingStore,
    board,
    kinds,
    market,
)

CRASH = (100.0, 96.0, 91.0, 86.0, 84.0)


def run_path(tracked: BreakerBoard, path: tuple[float, ...]) -> list[BreakerSnapshot]:
    return [tracked.update(equity, market(), NOW + i * HOUR) for i, equity in enumerate(path)]


def test_every_breaker_satisfies_the_protocol() -> None:
    breakers: list[Breaker] = [
        GlobalKillSwitch(),
        KillSwitch(),
        DrawdownBreaker(),
        DailyLossBreaker(),
        LossStreakBreaker(),
        ErrorRateBreaker(),
        StaleDataBreaker(),
    ]

    names = [b.name for b in breakers]

    assert names == [
        "global_kill_switch",
        "kill_switch",
        "drawdown",
        "daily_loss",
        "loss_streak",
        "error_rate",
        "stale_data",
    ]
    assert all(b.evaluate(Cycle(100.0, market(), NOW)) is None for b in breakers)


def test_most_severe_state_wins() -> None:
    assert most_severe([ACTIVE, HALTED, REDUCING]) is HALTED
    assert most_severe([ACTIVE, REDUCING]) is REDUCING
    assert most_severe([]) is ACTIVE


# --- the scripted crash --------------------------------------------------------------------


def test_scripted_crash_cuts_size_then_reduces_then_halts_with_flatten(storage: Storage) -> None:
    tracked = board(storage.state_store("risk_state"))

    steps = run_path(tracked, CRASH)

    assert [s.state for s in steps] == [ACTIVE, ACTIVE, ACTIVE, REDUCING, HALTED]
    assert [s.size_multiplier for s in steps] == [1.0, 1.0, 0.5, 0.5, 0.5]
    assert [s.flatten for s in steps] == [False, False, False, False, True]
    assert steps[-1].high_water_mark == 100.0
    assert steps[-1].drawdown == pytest.approx(0.16)
    events = tracked.drain_events()
    assert kinds(events) == [("trip", "drawdown")] * 3
    assert "drawdown 9.00% >= size cut at 5.00%" in events[0].reason
    assert "opening sizes x0.5" in events[0].reason
    assert "drawdown 14.00% >= reducing at 10.00%" in events[1].reason
    assert "drawdown 16.00% >= halt at 15.00%" in events[2].reason
    assert "halted until resume, flatten" in events[2].reason
    assert [e.ts for e in events] == [NOW + 2 * HOUR, NOW + 3 * HOUR, NOW + 4 * HOUR]
    assert {e.account for e in events} == {"paper-1"}


def test_crash_halt_survives_a_restart_and_a_recovery_and_lifts_only_by_resume(
    storage: Storage,
) -> None:
    run_path(board(storage.state_store("risk_state")), CRASH)

    restarted = board(storage.state_store("risk_state"))
    recovered = restarted.update(100.0, market(), NOW + 5 * HOUR)

    assert restarted.status().state is HALTED
    assert recovered.state is HALTED
    assert recovered.flatten
    assert "halted by drawdown" in recovered.reasons[0]
    assert board(storage.state_store("risk_state")).status().state is HALTED


def test_resume_from_another_process_lifts_the_halt_without_an_immediate_re_trip(
    storage: Storage,
) -> None:
    running = board(storage.state_store("risk_state"))
    run_path(running, CRASH)
    running.drain_events()

    cli = board(storage.state_store("risk_state")).resume("loss reviewed", NOW + 5 * HOUR)
    after = running.update(84.0, market(), NOW + 6 * HOUR)
    lower = running.update(83.0, market(), NOW + 7 * HOUR)

    assert cli.state is ACTIVE
    assert (after.state, after.flatten, after.size_multiplier) == (ACTIVE, False, 1.0)
    assert after.high_water_mark == 84.0  # rebased to the first equity after the resume
    assert lower.state is ACTIVE
    assert lower.drawdown == pytest.approx(1 / 84)
    (seen,) = running.drain_events()
    assert (seen.kind, seen.breaker) == ("resume", "kill_switch")
    assert "loss reviewed" in seen.reason


def test_after_resume_a_new_crash_trips_again_from_the_new_mark() -> None:
    tracked = board()
    run_path(tracked, CRASH)
    tracked.resume("loss reviewed", NOW + 5 * HOUR)

    again = run_path(tracked, (84.0, 79.0, 75.0, 71.0))

    assert [s.state for s in again] == [ACTIVE, ACTIVE, REDUCING, HALTED]


def test_resume_then_equity_above_the_old_stages_is_plain_active() -> None:
    tracked = board()
    run_path(tracked, (100.0, 89.0))  # REDUCING, not halted
    tracked.resume("reviewed", NOW + 2 * HOUR)

    snapshot = tracked.update(89.0, market(), NOW + 3 * HOUR)

    assert (snapshot.state, snapshot.size_multiplier, snapshot.reasons) == (ACTIVE, 1.0, ())


def test_recovery_while_halted_lowers_the_stage_with_reset_events_but_stays_halted() -> None:
    tracked = board()
    run_path(tracked, CRASH)
    tracked.drain_events()

    snapshot = tracked.update(97.0, market(), NOW + 5 * HOUR)

    assert snapshot.state is HALTED
    assert snapshot.flatten
    (event,) = tracked.drain_events()
    assert (event.kind, event.breaker) == ("reset", "drawdown")
    assert "back below halt at 15.00%" in event.reason
    assert "stays latched until resume" in event.reason


def test_a_deeper_fall_while_halted_keeps_the_first_reason_and_logs_nothing() -> None:
    tracked = board()
    first = run_path(tracked, CRASH)[-1]
    tracked.drain_events()

    later = tracked.update(70.0, market(), NOW + 5 * HOUR)

    assert later.reasons[0] == first.reasons[0]
    assert tracked.drain_events() == []


def test_every_halt_and_measure_is_per_account() -> None:
    store = MemoryLockStore()
    run_path(board(store, account="paper-1"), CRASH)

    other = board(store, account="paper-2").update(84.0, market(), NOW)

    assert other.state is ACTIVE
    assert other.high_water_mark == 84.0


@pytest.mark.parametrize("account", ["", "  ", "a/b", "global"])
def test_account_names_that_would_clash_in_the_store_are_refused(account: str) -> None:
    with pytest.raises(ValueError, match="account"):
        board(account=account)


# --- writes only on change -----------------------------------------------------------------


def test_an_update_where_nothing_changed_writes_nothing() -> None:
    store = CountingStore()
    tracked = board(store)
    tracked.update(100.0, market(), NOW)
    store.puts.clear()

    for i, equity in enumerate((99.0, 98.5, 99.5, 99.9), start=1):
        tracked.update(equity, market(), NOW + i * HOUR)

    assert store.puts == []


def test_a_new_high_water_mark_is_written_and_survives_a_new_board() -> None:
    store = CountingStore()
    board(store).update(100.0, market(), NOW)
    store.puts.clear()

    board(store).update(120.0, market(), NOW + HOUR)
    snapshot = board(store).update(115.0, market(), NOW + 2 * HOUR)

    assert store.puts == ["risk/paper-1/drawdown"]
    assert snapshot.high_water_mark == 120.0


def test_a_stage_crossing_is_stored_so_a_restart_does_not_log_it_again() -> None:
    store = MemoryLockStore()
    run_path(board(store), (100.0, 91.0))

    restarted = board(store)
    snapshot = restarted.update(91.0, market(), NOW + 2 * HOUR)

    assert snapshot.size_multiplier == 0.5
    assert restarted.drain_events() == []


# --- fail closed ---------------------------------------------------------------------------


@pytest.mark.parametrize("stored", ["{not json", "[]", '{"engaged": "no"}', '{"engaged": true}'])
def test_unreadable_halt_record_fails_closed_and_is_latched_properly(stored: str) -> None:
    store = MemoryLockStore()
    store.put("risk/paper-1/kill_switch", stored)

    snapshot = board(store).update(100.0, market(), NOW)

    assert snapshot.state is HALTED
    assert "stored kill_switch record unreadable" in snapshot.reasons[0]
    assert board(store).status().state is HALTED
    assert store.get("risk/paper-1/kill_switch") != stored


@pytest.mark.parametrize(
    ("part", "stored"),
    [
        ("drawdown", '{"high_water_mark": NaN, "stage": 0}'),
        ("drawdown", '{"high_water_mark": 100.0, "stage": 7}'),
        ("daily_loss", '{"day": "monday"}'),
        ("loss_streak", '{"losses": -1}'),
        ("loss_streak", "42"),
    ],
)
def test_unreadable_breaker_record_fails_closed(part: str, stored: str) -> None:
    store = MemoryLockStore()
    store.put(f"risk/paper-1/{part}", stored)
    tracked = board(store)

    snapshot = tracked.update(100.0, market(), NOW)

    assert snapshot.state is HALTED
    assert f"stored {part} record unreadable" in snapshot.reasons[0]
    assert kinds(tracked.drain_events()) == [("trip", "store")]
    assert board(store).status().state is HALTED  # latched until resume


def test_unreadable_global_record_halts_every_account() -> None:
    store = MemoryLockStore()
    store.put("risk/global/kill_switch", "garbage")

    first = board(store, account="a").update(100.0, market(), NOW)
    second = board(store, account="b").update(100.0, market(), NOW)

    assert first.state is HALTED
    assert second.state is HALTED
    assert "global_kill_switch record unreadable" in first.reasons[0]


def test_a_store_that_fails_halts_the_cycle() -> None:
    tracked = board(BrokenStore())

    snapshot = tracked.update(100.0, market(), NOW)

    assert snapshot.state is HALTED
    assert "circuit breakers failed" in snapshot.reasons[0]
    assert "disk I/O error" in snapshot.reasons[0]
    assert kinds(tracked.drain_events()) == [("trip", "board")]


def test_snapshot_is_a_breaker_snapshot_with_neutral_defaults() -> None:
    snapshot = board().update(100.0, market(), NOW)

    assert isinstance(snapshot, BreakerSnapshot)
    assert (snapshot.state, snapshot.reasons, snapshot.size_multiplier, snapshot.flatten) == (
        ACTIVE,
        (),
        1.0,
        False,
    )


def test_custom_limits_move_the_stages() -> None:
    limits = BreakerLimits(
        drawdown_reduce_size=0.02,
        reduced_size_multiplier=0.25,
        drawdown_reducing=0.04,
        drawdown_halt=0.06,
        flatten_on_halt=False,
        daily_loss_limit=0.9,
    )
    tracked = board(limits=limits)

    steps = run_path(tracked, (100.0, 97.0, 95.0, 94.0))

    assert [s.state for s in steps] == [ACTIVE, ACTIVE, REDUCING, HALTED]
    assert steps[1].size_multiplier == 0.25
    assert not steps[-1].flatten
