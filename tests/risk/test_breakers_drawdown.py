"""Staged drawdown from the equity high-water mark: size cut, exits only, latched halt."""

from __future__ import annotations

import pytest

from core.types import BreakerLimits
from risk.breakers.base import Cycle
from risk.breakers.drawdown import HALT, NONE, REDUCING, SIZE, DrawdownBreaker
from tests.risk.breakers_support import ACTIVE, HALTED, HOUR, NOW, board, kinds, market
from tests.risk.breakers_support import REDUCING as REDUCING_STATE


def breaker_at(mark: float) -> DrawdownBreaker:
    breaker = DrawdownBreaker(BreakerLimits())
    breaker.evaluate(Cycle(equity=mark, market=market(), now_ms=NOW))
    return breaker


def step(breaker: DrawdownBreaker, equity: float) -> object:
    return breaker.evaluate(Cycle(equity=equity, market=market(), now_ms=NOW + HOUR))


@pytest.mark.parametrize(
    ("equity", "stage"),
    [(95.01, NONE), (95.0, SIZE), (90.01, SIZE), (90.0, REDUCING), (85.01, REDUCING), (85.0, HALT)],
)
def test_each_stage_starts_at_its_threshold_and_not_just_below(equity: float, stage: int) -> None:
    breaker = breaker_at(100.0)

    step(breaker, equity)

    assert breaker.stage == stage


def test_halt_stage_trip_is_latched_and_asks_to_flatten() -> None:
    breaker = breaker_at(100.0)

    trip = breaker.evaluate(Cycle(equity=85.0, market=market(), now_ms=NOW))

    assert trip is not None
    assert (trip.state, trip.latch, trip.flatten) == (HALTED, True, True)
    assert "drawdown 15.00% >= halt at 15.00%" in trip.reason
    assert "equity=85.00, high-water mark=100.00" in trip.reason


def test_size_stage_keeps_trading_at_the_reduced_size() -> None:
    breaker = breaker_at(100.0)

    trip = breaker.evaluate(Cycle(equity=94.0, market=market(), now_ms=NOW))

    assert trip is not None
    assert (trip.state, trip.size_multiplier, trip.latch) == (ACTIVE, 0.5, False)


def test_high_water_mark_only_rises() -> None:
    breaker = DrawdownBreaker()
    for equity in (100.0, 120.0, 110.0):
        breaker.evaluate(Cycle(equity=equity, market=market(), now_ms=NOW))

    assert breaker.high_water_mark == 120.0
    assert breaker.drawdown(110.0) == pytest.approx(1 / 12)


@pytest.mark.parametrize("equity", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_equity_trips_a_latched_halt_and_keeps_the_mark(equity: float) -> None:
    breaker = breaker_at(100.0)

    trip = breaker.evaluate(Cycle(equity=equity, market=market(), now_ms=NOW))

    assert trip is not None
    assert (trip.state, trip.latch, trip.flatten) == (HALTED, True, False)
    assert "not a finite number" in trip.reason
    assert breaker.high_water_mark == 100.0


def test_reducing_and_size_stages_lift_as_equity_recovers_each_crossing_an_event() -> None:
    tracked = board()
    path = (100.0, 89.0, 93.0, 96.0)

    states = [tracked.update(e, market(), NOW + i * HOUR) for i, e in enumerate(path)]

    assert [(s.state, s.size_multiplier) for s in states] == [
        (ACTIVE, 1.0),
        (REDUCING_STATE, 0.5),
        (ACTIVE, 0.5),
        (ACTIVE, 1.0),
    ]
    events = tracked.drain_events()
    assert [(e.kind, e.breaker) for e in events] == [
        ("trip", "drawdown"),
        ("reset", "drawdown"),
        ("reset", "drawdown"),
    ]
    assert "back below reducing at 10.00%" in events[1].reason
    assert "back below size cut at 5.00%" in events[2].reason
    assert events[2].reason.endswith("full size")


def test_a_jump_over_several_stages_is_one_event() -> None:
    tracked = board()
    tracked.update(100.0, market(), NOW)

    snapshot = tracked.update(80.0, market(), NOW + HOUR)

    assert snapshot.state is HALTED
    assert kinds(tracked.drain_events()) == [("trip", "drawdown")]


def test_nan_equity_halts_the_board_until_resume() -> None:
    tracked = board()
    tracked.update(100.0, market(), NOW)

    halted = tracked.update(float("nan"), market(), NOW + HOUR)
    later = tracked.update(100.0, market(), NOW + 2 * HOUR)

    assert halted.state is HALTED
    assert later.state is HALTED
    assert kinds(tracked.drain_events()) == [("trip", "drawdown")]


def test_zero_equity_is_a_full_drawdown() -> None:
    tracked = board()
    tracked.update(100.0, market(), NOW)

    snapshot = tracked.update(0.0, market(), NOW + HOUR)

    assert snapshot.state is HALTED
    assert snapshot.drawdown == 1.0


def test_older_record_without_a_stage_is_still_read() -> None:
    breaker = DrawdownBreaker()

    breaker.load({"high_water_mark": 120.0, "last_equity": 110.0})

    assert (breaker.high_water_mark, breaker.stage, breaker.equity) == (120.0, NONE, 110.0)
