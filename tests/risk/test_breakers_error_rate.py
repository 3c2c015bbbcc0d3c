"""Error rate: max_errors exchange or LLM failures within the window latch a halt."""

from __future__ import annotations

import pytest

from core.types import BreakerLimits
from risk.breakers import BreakerBoard
from risk.store import MemoryLockStore
from tests.risk.breakers_support import ACTIVE, HALTED, HOUR, NOW, board, kinds, market

MINUTE = 60_000
ERRORS = BreakerLimits(max_errors=5, error_window_minutes=60, daily_loss_limit=0.9)


def error_board(store: MemoryLockStore | None = None) -> BreakerBoard:
    return board(store if store is not None else MemoryLockStore(), limits=ERRORS)


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
