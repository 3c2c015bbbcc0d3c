"""LLM budget: no new entries once the analyst's budget is spent; a day's comes back tomorrow."""

from __future__ import annotations

import pytest

from core.backends import Storage
from risk.breakers import Breaker, BreakerBoard, LlmBudgetBreaker
from risk.breakers.base import Cycle
from risk.store import MemoryLockStore
from tests.risk.breakers_support import (
    ACTIVE,
    DAY,
    HALTED,
    HOUR,
    MIDNIGHT,
    NOW,
    REDUCING,
    CountingStore,
    board,
    kinds,
    market,
)

KEY = "risk/paper-1/llm_budget"
DAY_SPENT = "LLM budget for 2023-11-14 spent: $20.0100 of $20.00"
RUN_SPENT = "LLM run budget spent: 1,000,000 of 1,000,000 tokens"


def test_day_budget_stop_blocks_entries_until_next_utc_day() -> None:
    tracked = board()
    tracked.update(100.0, market(), NOW)

    tracked.record_llm_budget("day", DAY_SPENT, NOW)
    same_day = tracked.update(100.0, market(), MIDNIGHT + DAY - 1)
    tracked.drain_events()
    next_day = tracked.update(100.0, market(), MIDNIGHT + DAY)

    assert same_day.state is REDUCING
    assert not same_day.flatten
    assert same_day.reasons == (
        f"llm_budget: {DAY_SPENT} (at 2023-11-14T01:00Z): "
        "no new entries until the next UTC day (2023-11-15)",
    )
    assert next_day.state is ACTIVE
    events = tracked.drain_events()
    assert kinds(events) == [("reset", "llm_budget")]
    assert "new UTC day 2023-11-15: LLM budget stop lifted" in events[0].reason


def test_budget_stop_is_not_latched_in_the_kill_switch() -> None:
    store = MemoryLockStore()
    tracked = board(store)

    tracked.record_llm_budget("run", RUN_SPENT, NOW)

    assert tracked.status().state is REDUCING
    assert store.get("risk/paper-1/kill_switch") is None


def test_run_budget_stop_holds_until_resume() -> None:
    tracked = board()
    tracked.record_llm_budget("run", RUN_SPENT, NOW)

    days_later = tracked.update(100.0, market(), NOW + 3 * DAY)
    resumed = tracked.resume("raised the run budget", NOW + 3 * DAY + HOUR)
    after = tracked.update(100.0, market(), NOW + 3 * DAY + 2 * HOUR)

    assert days_later.state is REDUCING
    assert "no new entries until resume" in days_later.reasons[0]
    assert resumed.state is ACTIVE
    assert after.state is ACTIVE


def test_resume_from_another_process_lifts_the_stop_at_the_next_cycle() -> None:
    store = MemoryLockStore()
    running = board(store)
    running.record_llm_budget("run", RUN_SPENT, NOW)

    board(store).resume("raised the run budget", NOW + HOUR)
    snapshot = running.update(100.0, market(), NOW + 2 * HOUR)

    assert snapshot.state is ACTIVE


def test_budget_stop_survives_restart(storage: Storage) -> None:
    board(storage.state_store("risk_state")).record_llm_budget("day", DAY_SPENT, NOW)

    restarted = board(storage.state_store("risk_state"))
    snapshot = restarted.update(100.0, market(), NOW + HOUR)

    assert snapshot.state is REDUCING
    assert DAY_SPENT in snapshot.reasons[0]
    assert restarted.drain_events() == []


def test_budget_stop_logs_one_trip_event() -> None:
    tracked = board()

    for hour in range(4):  # the analyst reports the spent budget every cycle
        tracked.update(100.0, market(), NOW + hour * HOUR)
        tracked.record_llm_budget("day", f"{DAY_SPENT} (+{hour} requests)", NOW + hour * HOUR)

    events = tracked.drain_events()
    assert kinds(events) == [("trip", "llm_budget")]
    assert events[0].ts == NOW
    assert DAY_SPENT in events[0].reason
    assert "(+0 requests)" in tracked.status().reasons[0]  # the first reason stays


def test_a_stop_already_in_force_writes_nothing() -> None:
    store = CountingStore()
    tracked = board(store)
    tracked.update(100.0, market(), NOW)
    tracked.record_llm_budget("run", RUN_SPENT, NOW)
    store.puts.clear()

    for hour in range(1, 4):
        tracked.update(100.0, market(), NOW + hour * HOUR)
        tracked.record_llm_budget("run", RUN_SPENT, NOW + hour * HOUR)
        tracked.record_llm_budget("day", DAY_SPENT, NOW + hour * HOUR)

    assert store.puts == []


def test_a_run_stop_widens_a_day_stop_and_a_day_stop_never_narrows_it() -> None:
    tracked = board()
    tracked.record_llm_budget("day", DAY_SPENT, NOW)

    tracked.record_llm_budget("run", RUN_SPENT, NOW + HOUR)
    tracked.record_llm_budget("day", DAY_SPENT, NOW + 2 * HOUR)
    next_day = tracked.update(100.0, market(), MIDNIGHT + DAY)

    assert kinds(tracked.drain_events()) == [("trip", "llm_budget"), ("trip", "llm_budget")]
    assert next_day.state is REDUCING
    assert RUN_SPENT in next_day.reasons[0]
    assert "until resume" in next_day.reasons[0]


def test_a_day_stop_reported_on_a_later_day_trips_for_that_day() -> None:
    tracked = board()
    tracked.record_llm_budget("day", DAY_SPENT, NOW)
    tracked.drain_events()

    tracked.record_llm_budget("day", "LLM budget for 2023-11-15 spent", NOW + DAY)
    that_day = tracked.update(100.0, market(), NOW + DAY + HOUR)

    assert kinds(tracked.drain_events()) == [("reset", "llm_budget"), ("trip", "llm_budget")]
    assert that_day.state is REDUCING
    assert "until the next UTC day (2023-11-16)" in that_day.reasons[0]


def test_a_clock_going_back_does_not_lift_a_day_stop() -> None:
    tracked = board()
    tracked.record_llm_budget("day", DAY_SPENT, NOW)

    snapshot = tracked.update(100.0, market(), NOW - DAY)

    assert snapshot.state is REDUCING


def test_a_budget_stop_ranks_below_a_halt() -> None:
    tracked = board()
    tracked.record_llm_budget("run", RUN_SPENT, NOW)

    snapshot = tracked.halt("exchange outage", NOW + HOUR)

    assert snapshot.state is HALTED
    assert len(snapshot.reasons) == 2
    assert snapshot.reasons[1].startswith("llm_budget: ")


@pytest.mark.parametrize(
    "stored",
    [
        "{not json",
        "[]",
        '{"scope": "week", "reason": "x", "since_ms": 0}',
        '{"scope": "run", "reason": 7, "since_ms": 0}',
        '{"scope": "day", "reason": "x"}',
    ],
)
def test_unreadable_budget_record_fails_closed(stored: str) -> None:
    store = MemoryLockStore()
    store.put(KEY, stored)
    tracked = board(store)

    snapshot = tracked.update(100.0, market(), NOW)

    assert snapshot.state is HALTED
    assert "stored llm_budget record unreadable" in snapshot.reasons[0]
    assert kinds(tracked.drain_events()) == [("trip", "store")]
    assert board(store).status().state is HALTED  # latched until resume
    assert store.get(KEY) != stored


def test_stored_reason_is_cut_short_to_one_line() -> None:
    store = MemoryLockStore()

    board(store).record_llm_budget("day", "spent\n" + "x" * 5_000, NOW)

    stored = store.get(KEY) or ""
    assert len(stored) < 300
    assert "\\n" not in stored


def test_an_empty_reason_still_says_which_budget() -> None:
    tracked = board()

    tracked.record_llm_budget("run", "  ", NOW)

    assert "LLM run budget spent" in tracked.status().reasons[0]


def test_an_unknown_scope_is_refused() -> None:
    tracked: BreakerBoard = board()

    with pytest.raises(ValueError, match="scope"):
        tracked.record_llm_budget("week", DAY_SPENT, NOW)  # type: ignore[arg-type]


def test_the_breaker_satisfies_the_protocol() -> None:
    breaker: Breaker = LlmBudgetBreaker()

    assert breaker.name == "llm_budget"
    assert breaker.evaluate(Cycle(100.0, market(), NOW)) is None
