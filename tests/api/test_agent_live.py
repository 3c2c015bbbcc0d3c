"""Agents on an exchange market (a fake Binance on 127.0.0.1 revealing 1s candles): a dead
feed reads as stalled and meets the stale-data breaker; SIGKILLs at thirty random moments,
each followed by a restart, double no order, lose no trace and break no chain."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests import zygote
from tests.cli import tradegraph
from tests.fake_exchange.realtime import play_in_real_time
from tests.live_binance import settings_for
from tests.tools.notify.receivers import webhook_receiver

ROOT = Path(__file__).resolve().parents[2]
FLIP_FLOP = "tests.plugins.flip_flop:FlipFlopAnalyst"
AGENT = [
    "agent", "start", "--name", "live", "--market", "exchange:binance", "--symbol",
    "BTC/USDT", "--timeframe", "1s", "--analyst", FLIP_FLOP,
]  # fmt: skip


def _env(fake, tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        **os.environ, **settings_for(fake), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
        "TRADEGRAPH_AGENT__HEARTBEAT_SECONDS": "0.5", **settings,
    }  # fmt: skip


def _start(args: list[str], env: dict[str, str], cwd: Path) -> zygote.ForkedProcess:
    with open(os.devnull, "w") as out, open(cwd / "agent.err", "a") as errors:
        return zygote.start(args, env=env, cwd=cwd, stdout=out.fileno(), stderr=errors.fileno())


def _pulse(cwd: Path) -> dict:
    try:
        return json.loads((cwd / ".tradegraph" / "agents" / "live.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _wait_until(condition, child, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pulse = _pulse(child.cwd)
        if condition(pulse):
            return pulse
        if child.process.poll() is not None:
            raise AssertionError(f"the agent ended: {(child.cwd / 'agent.err').read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"the agent did not get there in {seconds} s: {_pulse(child.cwd)}")


class Running:
    def __init__(self, process: zygote.ForkedProcess, cwd: Path) -> None:
        self.process, self.cwd = process, cwd


@pytest.fixture
def candles(fake_binance):
    playing = play_in_real_time(fake_binance, "BTC/USDT", interval="1s")
    yield playing
    playing.stop()


def test_an_agent_whose_feed_dies_goes_stalled_and_meets_the_stale_data_breaker(
    fake_binance, candles, tmp_path
):
    env = _env(fake_binance, tmp_path, TRADEGRAPH_AGENT__PATIENCE_SECONDS="0.3")
    agent = Running(_start([*AGENT, "--quiet"], env, tmp_path), tmp_path)
    before = _wait_until(lambda p: p.get("decisions", 0) >= 3, agent)["decisions"]

    candles.stop()  # the exchange closes no more candles
    _wait_until(lambda p: p.get("message", "").startswith("stalled"), agent)
    _wait_until(lambda p: p.get("decisions", 0) >= before + 4, agent)
    status = tradegraph("agent", "status", "live", cwd=tmp_path, env=env)
    agent.process.send_signal(signal.SIGTERM)
    code = agent.process.wait(60)
    log = (tmp_path / ".tradegraph" / "agents" / "live.log").read_text().splitlines()
    after = [line for line in log if "BTC/USDT" in line and "→" in line][before:]

    assert code == 143
    assert "stalled" in status.stdout and "no candle closed at" in status.stdout
    assert any("STALE_DATA" in line for line in after), "\n".join(after)
    assert not any("buy" in line.split("→")[0] and "approved" in line for line in after[2:])


def test_an_agent_whose_feed_dies_tells_the_webhook_it_stalled_not_at_every_silent_close(
    fake_binance, candles, tmp_path
):
    with webhook_receiver() as receiver:
        config = tmp_path / "notify.toml"
        config.write_text(
            f'[[notify.channels]]\nname = "ops"\nkind = "webhook"\nurl = "{receiver.url}"\n'
            'events = ["agent_stalled"]\n'
        )
        env = _env(
            fake_binance, tmp_path, TRADEGRAPH_AGENT__PATIENCE_SECONDS="0.3",
            TRADEGRAPH_CONFIG=str(config),
        )  # fmt: skip
        agent = Running(_start([*AGENT, "--quiet"], env, tmp_path), tmp_path)
        _wait_until(lambda p: p.get("decisions", 0) >= 2, agent)

        candles.stop()
        (told,) = receiver.wait_for(1, timeout=30)
        stalled = _wait_until(lambda p: p.get("message", "").startswith("stalled"), agent)
        _wait_until(lambda p: p.get("decisions", 0) >= stalled["decisions"] + 5, agent)
        agent.process.send_signal(signal.SIGTERM)
        assert agent.process.wait(60) == 143

    notices = [r.json() for r in receiver.received]
    assert told.json()["title"] == "Agent live stalled"
    assert all(n["event"] == "agent_stalled" for n in notices)
    assert all("no candle closed at" in n["text"] for n in notices)
    # five silent closes at least; told when a stall begins (a late candle may end one)
    assert len(notices) < 5


@pytest.mark.slow
def test_thirty_kills_of_an_agent_double_no_order_lose_no_trace_and_break_no_chain(
    fake_binance, candles, tmp_path
):
    env = _env(fake_binance, tmp_path)
    rng = random.Random(23)
    args = [*AGENT, "--broker", "sandbox", "--quiet"]
    for _ in range(30):
        child = _start(args, env, tmp_path)
        try:
            child.wait(timeout=rng.uniform(1.0, 5.0))
        except subprocess.TimeoutExpired:
            child.kill()
        assert child.wait() == -signal.SIGKILL, (tmp_path / "agent.err").read_text()[-2000:]
        orders = len(set(fake_binance.client_order_ids()))

    last = Running(_start(args, env, tmp_path), tmp_path)
    _wait_until(  # this process's pulse: the killed one before it left its own
        lambda p: p.get("pid") == last.process.pid and p.get("phase") == "running", last
    )
    last.process.send_signal(signal.SIGTERM)
    assert last.process.wait(60) == 143
    sent = Counter(fake_binance.client_order_ids())
    verify = tradegraph("audit", "verify", cwd=tmp_path, env=env)
    log = (tmp_path / ".tradegraph" / "agents" / "live.log").read_text()

    assert orders >= 5 and max(sent.values()) == 1  # no client id ever sent twice
    assert "BROKEN" not in verify.stdout and "altered" not in verify.stdout, verify.stdout
    assert verify.stdout.count("chain intact") >= 2, verify.stdout  # most kills come early
    assert "missed_ticks" in log  # the closes that passed while it was down are recorded
