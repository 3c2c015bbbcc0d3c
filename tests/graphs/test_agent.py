"""A scheduled agent on a fake clock: one decision per close, missed ticks recorded and never
traded late, no two wake-ups at once, and a wake-up a crash cut short finished on restart."""

from __future__ import annotations

import threading

import pytest

from core.backends import storage_for
from core.settings import load_settings
from graphs.agent.pulse import read_pulse
from graphs.agent.start import AgentRequest, open_agent, prepare_agent
from tests.support import stored_traces

HOUR = 3_600_000
SPEED = 3_600.0  # a 1h candle every second of the fake wall clock
WALL0 = 1_000_000_000.0


class FakeWall:
    def __init__(self) -> None:
        self.ms = WALL0

    def __call__(self) -> float:
        return self.ms

    def wake_for(self, agent, close_ms: int) -> None:
        """Move to the wake-up of the candle closing at `close_ms` (market time)."""
        self.ms = agent.schedule.wake_at(close_ms) + 1


class CrashError(Exception):
    """Stands for a SIGKILL: the process stops in the middle of a wake-up."""


def _request(tmp_path, symbol="SYN/USDT", name="a1"):
    return AgentRequest(
        name=name,
        market="synthetic:4",
        symbol=symbol,
        timeframe="1h",
        bars=50,
        speed=SPEED,
        data_dir=tmp_path,
        analyst="stress",
    )


def _traces_by_close(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    book = storage_for(settings, tmp_path.resolve()).accounts()
    try:
        runs = sorted(book.cycles_by_run())
    finally:
        book.close()
    return [t for run in runs for t in stored_traces(tmp_path, run)]


def test_an_agent_decides_once_per_candle_close_on_its_clock(tmp_path):
    wall = FakeWall()
    prepared = prepare_agent(_request(tmp_path))

    with open_agent(prepared, now_ms=wall) as agent:
        first = agent.identity.first_close_ms
        for k in range(3):
            wall.wake_for(agent, first + k * HOUR)
            agent.tick()
            agent.tick()  # a second call for the same close decides nothing
        decided = agent.decisions

    assert decided == 3
    traces = _traces_by_close(tmp_path)
    assert [t.ts for t in traces] == [first, first + HOUR, first + 2 * HOUR]
    assert read_pulse(tmp_path.resolve(), "a1").phase == "stopped"


def test_closes_missed_while_behind_are_recorded_and_not_traded_late(tmp_path):
    wall = FakeWall()
    prepared = prepare_agent(_request(tmp_path))

    with open_agent(prepared, now_ms=wall) as agent:
        first = agent.identity.first_close_ms
        wall.wake_for(agent, first)
        agent.tick()
        wall.wake_for(agent, first + 4 * HOUR)
        agent.tick()
        missed, decided = agent.missed, agent.decisions

    assert (decided, missed) == (2, 3)
    second = _traces_by_close(tmp_path)[1]
    assert second.ts == first + 4 * HOUR
    assert [e.kind for e in second.events] == ["missed_ticks"]
    assert "3 candle close(s)" in second.events[0].detail
    assert "missing before" not in second.model_dump_json()  # the missed candles are history


def test_a_wake_up_due_while_one_is_deciding_is_refused(tmp_path):
    wall = FakeWall()
    prepared = prepare_agent(_request(tmp_path))
    inside, release = threading.Event(), threading.Event()

    def slow_decision(_trace):
        inside.set()
        release.wait(10)

    with open_agent(prepared, now_ms=wall, on_decision=slow_decision) as agent:
        wall.wake_for(agent, agent.identity.first_close_ms)
        worker = threading.Thread(target=agent.tick)
        worker.start()
        assert inside.wait(30)
        wall.wake_for(agent, agent.identity.first_close_ms + HOUR)
        agent.tick()  # refused at once: the first is still deciding
        decided_meanwhile = agent.decisions
        release.set()
        worker.join(30)
        decided = agent.decisions

    assert decided_meanwhile == 0
    assert decided == 1


@pytest.mark.parametrize("back_within_the_candle", [True, False])
def test_a_wake_up_cut_short_is_finished_on_a_restart_mid_candle_and_else_missed(
    tmp_path, back_within_the_candle
):
    wall = FakeWall()
    request = _request(tmp_path, symbol="SYN/USDT,ALT/USDT")

    crashed = _crash_between_the_two_decisions(prepare_agent(request), wall)
    first_close = crashed["first_close"]

    wall.ms += 200 if back_within_the_candle else 1_500  # a candle is 1 s of this wall clock
    with open_agent(
        prepare_agent(AgentRequest(name="a1", data_dir=tmp_path)), now_ms=wall
    ) as agent:
        recovered = (agent.decisions, agent.missed, agent.last_close_ms)

    traces = _traces_by_close(tmp_path)
    symbols_at_first = sorted(t.symbol for t in traces if t.ts == first_close)
    if back_within_the_candle:
        assert recovered == (2, 0, first_close)
        assert symbols_at_first == ["ALT/USDT", "SYN/USDT"]  # each decided once
    else:
        assert recovered == (1, 1, first_close)
        assert symbols_at_first == ["SYN/USDT"]  # the late one was not traded late


def _crash_between_the_two_decisions(prepared, wall):
    """Open the agent, and kill it in its first wake-up after the first symbol's decision."""
    seen = {}
    try:
        with open_agent(prepared, now_ms=wall) as agent:
            seen["first_close"] = agent.identity.first_close_ms
            wall.wake_for(agent, seen["first_close"])
            real_decide = agent.decide

            def crash_on_the_second(symbol, state):
                if symbol == "ALT/USDT":
                    raise CrashError
                return real_decide(symbol, state)

            agent.decide = crash_on_the_second  # the graph's step looks it up when it runs
            agent.tick()
    except CrashError:
        return seen
    raise AssertionError("the wake-up was not cut short")
