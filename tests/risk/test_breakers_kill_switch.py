"""Manual kill switches, per account and global, and the status of every account."""

from __future__ import annotations

import pytest

from core.backends import Storage
from risk.breakers import halt_all, list_accounts, resume_all, status_all
from risk.store import MemoryLockStore
from tests.risk.breakers_support import (
    ACTIVE,
    DRAWDOWN_ONLY,
    HALTED,
    HOUR,
    NOW,
    REDUCING,
    board,
    kinds,
    market,
)

# --- the account's kill switch ---------------------------------------------------------------


def test_manual_halt_and_resume_are_recorded_as_events() -> None:
    tracked = board()

    halted = tracked.halt("exchange incident", NOW)
    resumed = tracked.resume("incident closed", NOW + HOUR)

    assert halted.state is HALTED
    assert "halted by manual since 2023-11-14T01:00Z: exchange incident" in halted.reasons[0]
    assert resumed.state is ACTIVE
    events = tracked.drain_events()
    assert [(e.ts, e.kind, e.breaker, e.reason, e.account) for e in events] == [
        (NOW, "halt", "kill_switch", "exchange incident", "paper-1"),
        (NOW + HOUR, "resume", "kill_switch", "incident closed", "paper-1"),
    ]
    assert tracked.drain_events() == []


def test_manual_halt_holds_through_good_cycles_and_restarts() -> None:
    store = MemoryLockStore()
    board(store).halt("operator", NOW)

    assert board(store).update(100.0, market(), NOW + HOUR).state is HALTED
    assert board(store).update(100.0, market(), NOW + 2 * HOUR).state is HALTED


def test_halt_with_flatten_sets_flatten_until_resume() -> None:
    tracked = board()

    halted = tracked.halt("liquidate", NOW, flatten=True)
    held = tracked.update(100.0, market(), NOW + HOUR)
    resumed = tracked.resume("done", NOW + 2 * HOUR)

    assert (halted.state, halted.flatten) == (HALTED, True)
    assert "flatten requested" in halted.reasons[0]
    assert held.flatten
    assert not resumed.flatten


def test_halt_without_flatten_does_not_flatten() -> None:
    assert not board().halt("pause", NOW).flatten


def test_a_second_halt_keeps_the_first_reason_and_adds_flatten() -> None:
    tracked = board()
    tracked.halt("pause", NOW)

    again = tracked.halt("now liquidate", NOW + HOUR, flatten=True)

    assert again.flatten
    assert again.reasons[0].endswith(": pause")
    assert [e.reason for e in tracked.drain_events()] == ["pause", "now liquidate (flatten)"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_halt_and_resume_need_a_reason(reason: str) -> None:
    tracked = board()

    with pytest.raises(ValueError, match="reason"):
        tracked.halt(reason, NOW)
    with pytest.raises(ValueError, match="reason"):
        tracked.resume(reason, NOW)
    with pytest.raises(ValueError, match="reason"):
        halt_all(MemoryLockStore(), reason, NOW)


def test_halt_from_another_board_is_seen_and_logged_at_the_next_cycle() -> None:
    store = MemoryLockStore()
    running = board(store)
    running.update(100.0, market(), NOW)

    board(store).halt("from the CLI", NOW + 1)
    snapshot = running.update(100.0, market(), NOW + HOUR)

    assert snapshot.state is HALTED
    (event,) = running.drain_events()
    assert (event.kind, event.breaker) == ("halt", "kill_switch")
    assert "from the CLI (seen in the store)" in event.reason


# --- the global kill switch --------------------------------------------------------------------


def test_global_halt_from_a_second_store_handle_halts_every_account(storage: Storage) -> None:
    running = storage.state_store("risk_state")
    first, second = board(running, account="paper-1"), board(running, account="paper-2")
    first.update(100.0, market(), NOW)
    second.update(100.0, market(), NOW)

    event = halt_all(storage.state_store("risk_state"), "exchange outage", NOW + 1)
    snapshots = [b.update(100.0, market(), NOW + HOUR) for b in (first, second)]

    assert (event.kind, event.breaker, event.reason) == (
        "halt",
        "global_kill_switch",
        "exchange outage",
    )
    assert [s.state for s in snapshots] == [HALTED, HALTED]
    assert all("all accounts halted by manual" in s.reasons[0] for s in snapshots)
    assert all("exchange outage" in s.reasons[0] for s in snapshots)
    assert kinds(first.drain_events()) == [("halt", "global_kill_switch")]


def test_global_halt_reaches_accounts_that_start_later() -> None:
    store = MemoryLockStore()
    halt_all(store, "maintenance", NOW)

    assert board(store, account="new-account").update(100.0, market(), NOW).state is HALTED


def test_global_halt_with_flatten_flattens_every_account() -> None:
    store = MemoryLockStore()
    halt_all(store, "liquidate all", NOW, flatten=True)

    snapshot = board(store).update(100.0, market(), NOW)

    assert snapshot.flatten


def test_resume_all_lifts_the_global_halt_but_not_an_account_halt() -> None:
    store = MemoryLockStore()
    board(store, account="paper-1").halt("bad fills", NOW)
    halt_all(store, "maintenance", NOW)

    resume_all(store, "maintenance over", NOW + HOUR)
    own_halt = board(store, account="paper-1").update(100.0, market(), NOW + 2 * HOUR)
    free = board(store, account="paper-2").update(100.0, market(), NOW + 2 * HOUR)

    assert own_halt.state is HALTED
    assert free.state is ACTIVE


def test_an_account_resume_does_not_lift_the_global_halt() -> None:
    store = MemoryLockStore()
    halt_all(store, "maintenance", NOW)

    resumed = board(store).resume("my account is fine", NOW + HOUR)

    assert resumed.state is HALTED
    assert "all accounts halted" in resumed.reasons[0]


def test_resume_all_repairs_an_unreadable_global_record() -> None:
    store = MemoryLockStore()
    store.put("risk/global/kill_switch", "{broken")

    resume_all(store, "record repaired", NOW)

    assert board(store).update(100.0, market(), NOW).state is ACTIVE


# --- status of every account --------------------------------------------------------------------


def test_status_lists_every_account_and_the_global_switch(storage: Storage) -> None:
    store = storage.state_store("risk_state")
    board(store, account="paper-1").update(100.0, market(), NOW)
    crashing = board(store, account="replay:20231114T010000-abc123")
    crashing.update(100.0, market(), NOW)
    crashing.update(89.0, market(), NOW + HOUR)
    board(store, account="paper-2").halt("operator", NOW)
    halt_all(store, "maintenance", NOW)

    status = status_all(storage.state_store("risk_state"), DRAWDOWN_ONLY)

    assert list_accounts(store) == ("paper-1", "paper-2", "replay:20231114T010000-abc123")
    assert list(status.accounts) == ["paper-1", "paper-2", "replay:20231114T010000-abc123"]
    assert status.global_switch.state is HALTED
    assert "maintenance" in status.global_switch.reasons[0]
    assert all(s.state is HALTED for s in status.accounts.values())
    assert "operator" in status.accounts["paper-2"].reasons[1]
    replay = status.accounts["replay:20231114T010000-abc123"]
    assert replay.high_water_mark == 100.0
    assert replay.size_multiplier == 0.5
    assert "drawdown 11.00% >= reducing at 10.00%" in replay.reasons[1]


def test_status_of_an_empty_store_is_active_with_no_accounts() -> None:
    status = status_all(MemoryLockStore(), DRAWDOWN_ONLY)

    assert status.global_switch.state is ACTIVE
    assert status.accounts == {}


def test_status_reports_an_unreadable_global_record_as_halted() -> None:
    store = MemoryLockStore()
    store.put("risk/global/kill_switch", "[]")

    status = status_all(store, DRAWDOWN_ONLY)

    assert status.global_switch.state is HALTED
    assert "unreadable" in status.global_switch.reasons[0]


def test_status_shows_a_reducing_stage_stored_by_another_process() -> None:
    store = MemoryLockStore()
    running = board(store)
    running.update(100.0, market(), NOW)
    running.update(88.0, market(), NOW + HOUR)

    assert board(store).status().state is REDUCING
