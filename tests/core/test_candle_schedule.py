"""When an agent wakes, on a fake clock: aligned to candle closes, missed ticks, restarts."""

import pytest

from core.candle_schedule import CandleSchedule

HOUR = 3_600_000
MINUTE = 60_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a candle open at every period


def test_a_live_agent_wakes_at_each_close_plus_its_delay():
    schedule = CandleSchedule(HOUR, delay_ms=2_000)

    wake = schedule.wake_at(schedule.next_close(T0 + 17 * MINUTE))

    assert wake == T0 + HOUR + 2_000


def test_just_after_a_close_the_wake_up_is_still_ahead_until_the_delay_passes():
    schedule = CandleSchedule(HOUR, delay_ms=2_000)

    assert schedule.next_close(T0 + HOUR + 1_000) == T0 + HOUR
    assert schedule.next_close(T0 + HOUR + 2_000) == T0 + 2 * HOUR
    assert schedule.due_close(T0 + HOUR + 2_000) == T0 + HOUR


def test_weekly_candles_close_on_mondays():
    week = 7 * 24 * HOUR
    monday = 1_704_067_200_000  # 2024-01-01 was a Monday
    schedule = CandleSchedule(week)

    assert schedule.last_close(monday + 3 * 24 * HOUR) == monday
    assert schedule.next_close(monday + 1) == monday + week


def test_closes_that_fell_while_the_agent_was_down_are_missed_not_traded():
    schedule = CandleSchedule(HOUR)

    missed = schedule.missed_between(T0 + HOUR, T0 + 5 * HOUR)

    assert missed == [T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR]
    assert schedule.missed_between(None, T0 + 5 * HOUR) == []
    assert schedule.missed_between(T0 + 4 * HOUR, T0 + 5 * HOUR) == []


def test_a_restart_mid_candle_finishes_the_interrupted_wake_up_but_not_an_older_one():
    schedule = CandleSchedule(HOUR, delay_ms=2_000)
    interrupted = T0 + HOUR

    assert schedule.is_current(interrupted, T0 + HOUR + 40 * MINUTE)
    assert not schedule.is_current(interrupted, T0 + 2 * HOUR + 5_000)


def test_a_played_market_maps_its_candles_onto_the_wall_clock_at_its_speed():
    wall0 = 5_000_000
    schedule = CandleSchedule(HOUR, speed=600, origin_market_ms=T0, origin_wall_ms=wall0)

    first_wake = schedule.wake_at(schedule.next_close(wall0))

    assert first_wake == wall0 + 6_000  # a 1h candle every 6 s
    assert schedule.market_ms(wall0 + 60_000) == T0 + 10 * HOUR
    assert schedule.due_close(wall0 + 60_000) == T0 + 10 * HOUR


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"period_ms": 0}, "period"),
        ({"period_ms": HOUR, "speed": 0}, "speed"),
        ({"period_ms": HOUR, "delay_ms": -1}, "delay"),
    ],
)
def test_a_schedule_refuses_nonsense(kwargs, why):
    with pytest.raises(ValueError, match=why):
        CandleSchedule(**kwargs)
