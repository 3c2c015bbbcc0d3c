"""Error rate: max_errors exchange or LLM failures within the window, or error_consecutive
failures of one source in a row, latch a halt."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from core.types import BreakerLimits
from risk.breakers import BreakerBoard
from risk.store import MemoryLockStore
from tests.risk.breakers_support import (
    ACTIVE,
    HALTED,
    HOUR,
    NOW,
    CountingStore,
    board,
    kinds,
    market,
)

MINUTE = 60_000
ERRORS = BreakerLimits(
    max_errors=5, error_window_minutes=60, error_consecutive=100, daily_loss_limit=0.9
)
"""The window alone: failures in a row out of the way."""
IN_A_ROW = BreakerLimits(daily_loss_limit=0.9)
"""The defaults: 5 errors in 60 minutes, or 3 in a row."""
ERRORS_KEY = "risk/paper-1/errors"


def error_board(
    store: MemoryLockStore | None = None, limits: BreakerLimits = ERRORS
) -> BreakerBoard:
    return board(store if store is not None else MemoryLockStore(), limits=limits)


def hourly_cycles(tracked: BreakerBoard, outcomes: str, start_ms: int = NOW) -> int:
    """One analyst outcome an hour, as a live 1h agent sees them: f failed, s succeeded.
    The time of the last one."""
    for i, outcome in enumerate(outcomes):
        ts = start_ms + i * HOUR
        if outcome == "f":
            tracked.record_error("analyst", f"APIConnectionError: refused #{i}", ts)
        else:
            tracked.record_success("analyst", ts)
        tracked.update(100.0, market(now_ms=ts), ts)
    return start_ms + (len(outcomes) - 1) * HOUR


def fail(tracked: BreakerBoard, times: int, start_ms: int = NOW, every_ms: int = MINUTE) -> None:
    for i in range(times):
        tracked.record_error("exchange", f"timeout #{i + 1}", start_ms + i * every_ms)


def test_errors_below_the_threshold_do_not_trip() -> None:
    tracked = error_board()
    fail(tracked, 4)

    assert tracked.update(100.0, market(), NOW + HOUR).state is ACTIVE
    assert tracked.drain_events() == []


def test_error_rate_trips_a_latched_halt_at_the_threshold() -> None:
    tracked = error_board()
    fail(tracked, 4)

    tracked.record_error("llm", "overloaded", NOW + 10 * MINUTE)
    halted = tracked.status()
    much_later = tracked.update(100.0, market(), NOW + 48 * HOUR)

    assert halted.state is HALTED
    assert not halted.flatten
    assert "5 errors within 60 min (limit 5" in halted.reasons[0]
    assert "the last: llm: overloaded" in halted.reasons[0]
    assert much_later.state is HALTED
    events = tracked.drain_events()
    assert kinds(events) == [("trip", "error_rate")]
    assert events[0].ts == NOW + 10 * MINUTE


def test_errors_spread_wider_than_the_window_do_not_trip() -> None:
    tracked = error_board()

    fail(tracked, 10, every_ms=16 * MINUTE)  # at most 4 in any 60 minutes

    assert tracked.status().state is ACTIVE


def test_the_window_includes_both_ends() -> None:
    tracked = error_board()

    fail(tracked, 5, every_ms=15 * MINUTE)  # the first and the fifth exactly 60 minutes apart

    assert tracked.status().state is HALTED


def test_errors_before_a_restart_still_count() -> None:
    store = MemoryLockStore()
    fail(error_board(store), 4)

    restarted = error_board(store)
    restarted.record_error("exchange", "rate limited", NOW + 5 * MINUTE)

    assert restarted.status().state is HALTED


def test_resume_clears_the_error_window() -> None:
    tracked = error_board()
    fail(tracked, 5)

    tracked.resume("exchange back", NOW + 10 * MINUTE)
    tracked.record_error("exchange", "one more", NOW + 11 * MINUTE)

    assert tracked.update(100.0, market(), NOW + 12 * MINUTE).state is ACTIVE


def test_stored_error_text_is_cut_short() -> None:
    store = MemoryLockStore()

    error_board(store).record_error("exchange", "x" * 5_000, NOW)

    assert len(store.get("risk/paper-1/errors") or "") < 400


def test_an_error_needs_a_source() -> None:
    with pytest.raises(ValueError, match="source"):
        error_board().record_error(" ", "detail", NOW)


def test_hourly_failures_alone_never_reach_the_window_limit() -> None:
    tracked = error_board()

    hourly_cycles(tracked, "f" * 12)

    assert tracked.status().state is ACTIVE


def test_three_hourly_failures_in_a_row_trip_a_latched_halt() -> None:
    tracked = error_board(limits=IN_A_ROW)

    hourly_cycles(tracked, "ff")
    before = tracked.status()
    hourly_cycles(tracked, "f", start_ms=NOW + 2 * HOUR)
    halted = tracked.status()

    assert before.state is ACTIVE
    assert halted.state is HALTED
    assert "3 analyst failures in a row without a success (limit 3" in halted.reasons[0]
    assert "analyst: APIConnectionError: refused #0" in halted.reasons[0]
    events = tracked.drain_events()
    assert kinds(events) == [("trip", "error_rate")]
    assert events[0].ts == NOW + 2 * HOUR


def test_a_success_resets_the_failures_in_a_row() -> None:
    tracked = error_board(limits=IN_A_ROW)

    last = hourly_cycles(tracked, "ffsffsff")
    still_active = tracked.status()
    hourly_cycles(tracked, "f", start_ms=last + HOUR)

    assert still_active.state is ACTIVE
    assert tracked.status().state is HALTED


def test_the_halt_from_failures_in_a_row_holds_until_resume() -> None:
    tracked = error_board(limits=IN_A_ROW)
    last = hourly_cycles(tracked, "fff")

    later = hourly_cycles(tracked, "s" * 48, start_ms=last + HOUR)
    held = tracked.status()
    tracked.resume("network back", later + MINUTE)
    after = hourly_cycles(tracked, "ff", start_ms=later + HOUR)

    assert held.state is HALTED
    assert tracked.update(100.0, market(now_ms=after), after).state is ACTIVE


def test_failures_in_a_row_survive_a_restart() -> None:
    store = MemoryLockStore()
    hourly_cycles(error_board(store, IN_A_ROW), "ff")

    restarted = error_board(store, IN_A_ROW)
    hourly_cycles(restarted, "f", start_ms=NOW + 2 * HOUR)

    assert restarted.status().state is HALTED


def test_failures_in_a_row_are_counted_per_source() -> None:
    tracked = error_board(limits=IN_A_ROW)

    for i in range(2):
        tracked.record_error("exchange", "timeout", NOW + 2 * i * HOUR)
        tracked.record_error("analyst", "refused", NOW + (2 * i + 1) * HOUR)
        tracked.record_success("analyst", NOW + (2 * i + 1) * HOUR + MINUTE)
    tracked.record_error("exchange", "timeout", NOW + 4 * HOUR)

    halted = tracked.status()
    assert halted.state is HALTED
    assert "3 exchange failures in a row" in halted.reasons[0]


def test_a_success_with_nothing_to_reset_writes_nothing() -> None:
    store = CountingStore()
    tracked = error_board(store, IN_A_ROW)

    for i in range(5):
        tracked.record_success("analyst", NOW + i * HOUR)
    tracked.record_error("analyst", "refused", NOW + 5 * HOUR)
    tracked.record_success("analyst", NOW + 6 * HOUR)

    assert store.puts.count(ERRORS_KEY) == 2  # the error, then its reset


def test_a_record_written_before_counts_in_a_row_existed_still_loads() -> None:
    store = MemoryLockStore()
    store.put(ERRORS_KEY, json.dumps({"errors": [[NOW, "analyst: refused"]]}))
    tracked = error_board(store, IN_A_ROW)

    hourly_cycles(tracked, "ff", start_ms=NOW + HOUR)
    two = tracked.status()
    hourly_cycles(tracked, "f", start_ms=NOW + 3 * HOUR)

    assert two.state is ACTIVE
    assert tracked.status().state is HALTED


def test_an_unreadable_count_in_a_row_halts() -> None:
    store = MemoryLockStore()
    store.put(ERRORS_KEY, json.dumps({"errors": [], "in_a_row": {"analyst": -2}}))
    tracked = error_board(store, IN_A_ROW)

    tracked.record_success("analyst", NOW)

    halted = tracked.status()
    assert halted.state is HALTED
    assert "errors record in_a_row" in halted.reasons[0]


def test_a_success_needs_a_source() -> None:
    with pytest.raises(ValueError, match="source"):
        error_board().record_success("", NOW)


def test_failures_in_a_row_limit_is_at_least_one() -> None:
    with pytest.raises(ValidationError, match="error_consecutive"):
        BreakerLimits(error_consecutive=0)
