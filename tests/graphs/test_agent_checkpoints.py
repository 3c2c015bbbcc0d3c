"""Agents' checkpoints: in the data directory or PostgreSQL, one thread per agent, and pruned
with the traces' retention down to what a restart needs."""

from __future__ import annotations

import pytest

from graphs.agent.checkpoints import open_checkpointer, prune_checkpoints
from graphs.agent.start import AgentRequest, open_agent, prepare_agent
from graphs.agent.ticks import thread
from tests.graphs.test_agent import HOUR, FakeWall

FAR_FUTURE_MS = 2**62


def _run_ticks(tmp_path, wakes: int, *, name="c1"):
    wall = FakeWall()
    request = AgentRequest(
        name=name, market="synthetic:4", symbol="SYN/USDT", timeframe="1h", bars=50,
        speed=3600.0, data_dir=tmp_path,
    )  # fmt: skip
    with open_agent(prepare_agent(request), now_ms=wall) as agent:
        for k in range(wakes):
            wall.wake_for(agent, agent.identity.first_close_ms + k * HOUR)
            agent.tick()
        return agent.last_close_ms


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, monkeypatch):
    """The checkpointer's backend: SQLite in the data directory, or a PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url = request.getfixturevalue("database_url")
    monkeypatch.setenv("TRADEGRAPH_DATABASE_URL", url)
    return url


def test_each_agent_is_one_thread_and_pruning_keeps_only_its_latest_checkpoint(tmp_path, database):
    last = _run_ticks(tmp_path, 4)
    _run_ticks(tmp_path, 2, name="c2")

    with open_checkpointer(tmp_path, database) as saver:
        before = {t: len(list(saver.list(thread(t)))) for t in ("c1", "c2")}
        pruned = prune_checkpoints(saver, FAR_FUTURE_MS)
        after = {t: len(list(saver.list(thread(t)))) for t in ("c1", "c2")}
        latest = saver.get_tuple(thread("c1")).checkpoint["channel_values"]

    assert before["c1"] > 4 and before["c2"] > 2
    assert pruned == before["c1"] + before["c2"] - 2
    assert after == {"c1": 1, "c2": 1}
    assert latest["last_close_ms"] == last


def test_pruning_spares_checkpoints_taken_after_the_cutoff(tmp_path):
    _run_ticks(tmp_path, 3)

    with open_checkpointer(tmp_path, None) as saver:
        pruned = prune_checkpoints(saver, before_ms=0)
        left = len(list(saver.list(thread("c1"))))

    assert pruned == 0 and left > 3


def test_an_agent_carries_on_from_its_pruned_checkpoint(tmp_path):
    last = _run_ticks(tmp_path, 3)
    with open_checkpointer(tmp_path, None) as saver:
        prune_checkpoints(saver, FAR_FUTURE_MS)

    wall = FakeWall()
    with open_agent(prepare_agent(AgentRequest(name="c1", data_dir=tmp_path)), now_ms=wall) as a:
        carried = (a.last_close_ms, a.decisions)

    assert carried == (last, 3)
