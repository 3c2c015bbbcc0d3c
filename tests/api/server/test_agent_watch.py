"""A served agent that stalled without a word (its process gone, or its heartbeat stopped while
its pulse says it runs) is one `agent_stalled` notice per episode, however often the server
looks: real pulses on disk, real processes, a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.server.agent_watch import AgentWatcher, watching_agents
from core.notify_settings import ChannelSettings, NotifySettings
from core.settings import Settings
from graphs.agent.pulse import AgentPulse, AgentSpec, write_pulse
from tests.api.server.test_serve_cli import start_server
from tests.tools.notify.receivers import Receiver, webhook_receiver
from tools.notify import open_notifications

SPEC = AgentSpec(market="synthetic:42", symbols=("SYN/USDT",), timeframe="1h", account="agent-a")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _pulse(root: Path, name: str, pid: int, *, heartbeat_ms: int, started_ms: int = 1) -> None:
    write_pulse(
        root,
        AgentPulse(
            name=name, spec=SPEC, pid=pid, phase="running", run_id="r", started_ms=started_ms,
            heartbeat_ms=heartbeat_ms, heartbeat_seconds=1.0,
        ),
    )  # fmt: skip


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def agent_process() -> Iterator[int]:
    """A live process whose command line reads as an agent's (`process_alive` checks it)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "agent", "start"]
    )
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def _notify(receiver: Receiver, events: tuple[str, ...] = ("agent_stalled",)) -> NotifySettings:
    channel = ChannelSettings.model_validate(
        {"name": "hook", "kind": "webhook", "url": receiver.url, "events": events}
    )
    return NotifySettings(channels=(channel,), backoff_seconds=0.01, close_timeout_seconds=3.0)


def _stalls(receiver: Receiver) -> list[str]:
    return [r.json()["title"] for r in receiver.received if r.json()["event"] == "agent_stalled"]


def test_a_dead_agent_is_told_once_however_often_the_watcher_looks(tmp_path: Path) -> None:
    served = tmp_path / "served_agents" / "ghost"
    served.mkdir(parents=True)
    _pulse(served, "ghost", _dead_pid(), heartbeat_ms=_now_ms())
    with webhook_receiver() as receiver:
        with open_notifications(_notify(receiver), {}) as notifier:
            watcher = AgentWatcher(tmp_path, notifier, interval_s=60)
            looks = [watcher.look() for _ in range(3)]
        receiver.wait_for(1)

    assert looks == [["ghost"], [], []]
    (sent,) = receiver.received
    assert sent.json()["title"] == "Agent ghost stalled"
    assert "is gone while its pulse says running" in sent.json()["text"]
    assert sent.json()["account"] == "agent-a"


def test_a_late_heartbeat_is_an_episode_that_ends_when_the_agent_beats_again(
    tmp_path: Path, agent_process: int
) -> None:
    with webhook_receiver() as receiver:
        with open_notifications(_notify(receiver), {}) as notifier:
            watcher = AgentWatcher(tmp_path, notifier, interval_s=60)
            _pulse(tmp_path, "slow", agent_process, heartbeat_ms=_now_ms() - 10_000)
            first = [watcher.look(), watcher.look()]
            _pulse(tmp_path, "slow", agent_process, heartbeat_ms=_now_ms())
            recovered = watcher.look()
            _pulse(tmp_path, "slow", agent_process, heartbeat_ms=_now_ms() - 10_000)
            again = watcher.look()
        receiver.wait_for(2)

    assert first == [["slow"], []]
    assert recovered == []
    assert again == ["slow"]
    assert _stalls(receiver) == ["Agent slow stalled", "Agent slow stalled"]
    assert "no heartbeat for 10 s" in receiver.received[0].json()["text"]


def test_a_running_agent_and_a_finished_one_are_not_stalls(
    tmp_path: Path, agent_process: int
) -> None:
    _pulse(tmp_path, "busy", agent_process, heartbeat_ms=_now_ms())
    write_pulse(
        tmp_path,
        AgentPulse(
            name="done", spec=SPEC, pid=_dead_pid(), phase="finished", run_id="r", started_ms=1,
            heartbeat_ms=0, heartbeat_seconds=1.0,
        ),
    )  # fmt: skip
    with webhook_receiver() as receiver, open_notifications(_notify(receiver), {}) as notifier:
        told = AgentWatcher(tmp_path, notifier, interval_s=60).look()

    assert told == []
    assert receiver.received == []


def test_a_channel_that_filters_stalls_out_hears_nothing(tmp_path: Path) -> None:
    _pulse(tmp_path, "ghost", _dead_pid(), heartbeat_ms=_now_ms())
    with webhook_receiver() as receiver:
        with open_notifications(_notify(receiver, events=("halt",)), {}) as notifier:
            told = AgentWatcher(tmp_path, notifier, interval_s=60).look()
        time.sleep(0.2)

    assert told == ["ghost"]
    assert receiver.attempts == 0


def test_a_channel_without_its_secret_is_one_line_and_nothing_is_watched(tmp_path: Path) -> None:
    channel = ChannelSettings(name="tg", kind="telegram", chat_id="7", token_env="NO_SUCH_TOKEN")
    settings = Settings(data_dir=tmp_path, notify=NotifySettings(channels=(channel,)))

    with watching_agents(tmp_path, settings) as unwatched:
        pass

    assert unwatched is not None and "NO_SUCH_TOKEN" in unwatched


@pytest.mark.slow  # a real `tradegraph serve` process
def test_the_server_tells_of_a_served_agent_that_died_once(tmp_path: Path) -> None:
    served = tmp_path / "served_agents" / "ghost"
    served.mkdir(parents=True)
    _pulse(served, "ghost", _dead_pid(), heartbeat_ms=_now_ms())
    with webhook_receiver() as receiver:
        config = tmp_path / "tradegraph.toml"
        config.write_text(
            f'[agent]\nheartbeat_seconds = 0.1\n\n[[notify.channels]]\nname = "hook"\n'
            f'kind = "webhook"\nurl = "{receiver.url}"\nevents = ["agent_stalled"]\n'
        )
        server, _, _ = start_server(tmp_path, {"TRADEGRAPH_CONFIG": str(config)})
        try:
            receiver.wait_for(1, timeout=20)
            time.sleep(1.0)  # ten more looks
        finally:
            server.terminate()
            server.communicate(timeout=60)

    assert _stalls(receiver) == ["Agent ghost stalled"]
