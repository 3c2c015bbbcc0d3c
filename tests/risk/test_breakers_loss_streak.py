"""Losing streak: a cooldown of N candles (exits only) from the 4th loss in a row."""

from __future__ import annotations

from core.backends import Storage
from core.types import BreakerLimits, TradingState
from risk.breakers import BreakerBoard
from risk.store import LockStore, MemoryLockStore
from tests.risk.breakers_support import ACTIVE, HOUR, NOW, REDUCING, board, kinds, market

STREAK = BreakerLimits(max_consecutive_losses=4, loss_cooldown_candles=3, daily_loss_limit=0.9)


def streak_board(store: LockStore | None = None) -> BreakerBoard:
    return board(store if store is not None else MemoryLockStore(), limits=STREAK)


def states_from(tracked: BreakerBoard, first_ms: int, candles: int) -> list[TradingState]:
    return [tracked.update(100.0, market(), first_ms + i * HOUR).state for i in range(candles)]


def lose(tracked: BreakerBoard, times: int, at_ms: int = NOW) -> None:
    for _ in range(times):
        tracked.record_trade(-5.0, at_ms)


def test_three_losses_in_a_row_do_not_trip() -> None:
    tracked = streak_board()
    lose(tracked, 3)

    assert tracked.update(100.0, market(), NOW).state is ACTIVE
    assert tracked.drain_events() == []


def test_cooldown_starts_at_the_fourth_loss_and_blocks_exactly_n_candles() -> None:
    tracked = streak_board()
    lose(tracked, 3)

    tracked.record_trade(-1.25, NOW)
    status = tracked.status()
    states = states_from(tracked, NOW, 5)

    assert status.state is REDUCING
    assert "4 losing trades in a row" in status.reasons[0]
    assert "pnl -1.25" in status.reasons[0]
    assert states == [REDUCING, REDUCING, REDUCING, ACTIVE, ACTIVE]
    events = tracked.drain_events()
    assert kinds(events) == [("trip", "loss_streak"), ("reset", "loss_streak")]
    assert events[1].ts == NOW + 3 * HOUR


def test_a_loss_recorded_after_its_cycle_still_blocks_n_candles() -> None:
    tracked = streak_board()
    tracked.update(100.0, market(), NOW)
    lose(tracked, 4, at_ms=NOW)  # the fills of this cycle, after its update

    states = states_from(tracked, NOW + HOUR, 4)

    assert states == [REDUCING, REDUCING, REDUCING, ACTIVE]


def test_a_win_resets_the_count() -> None:
    tracked = streak_board()
    lose(tracked, 3)
    tracked.record_trade(12.0, NOW)
    lose(tracked, 3)

    assert tracked.update(100.0, market(), NOW).state is ACTIVE


def test_cooldown_end_survives_a_restart(storage: Storage) -> None:
    first = streak_board(storage.state_store("risk_state"))
    lose(first, 4)
    first.update(100.0, market(), NOW)

    restarted = streak_board(storage.state_store("risk_state"))
    states = states_from(restarted, NOW + HOUR, 3)

    assert states == [REDUCING, REDUCING, ACTIVE]


def test_losses_before_a_restart_still_count() -> None:
    store = MemoryLockStore()
    lose(streak_board(store), 3)

    restarted = streak_board(store)
    restarted.record_trade(-1.0, NOW)

    assert restarted.update(100.0, market(), NOW).state is REDUCING


def test_the_cooldown_consumes_the_streak() -> None:
    tracked = streak_board()
    lose(tracked, 4)
    states_from(tracked, NOW, 4)

    tracked.record_trade(-1.0, NOW + 4 * HOUR)

    assert tracked.update(100.0, market(), NOW + 4 * HOUR).state is ACTIVE


def test_a_pnl_that_is_not_a_number_counts_as_a_loss() -> None:
    tracked = streak_board()
    lose(tracked, 3)

    tracked.record_trade(float("nan"), NOW)

    assert tracked.update(100.0, market(), NOW).state is REDUCING


def test_resume_forgets_the_streak_and_the_cooldown() -> None:
    tracked = streak_board()
    lose(tracked, 4)
    tracked.update(100.0, market(), NOW)

    tracked.resume("strategy reviewed", NOW + HOUR)
    tracked.record_trade(-1.0, NOW + HOUR)

    assert tracked.update(100.0, market(), NOW + 2 * HOUR).state is ACTIVE
