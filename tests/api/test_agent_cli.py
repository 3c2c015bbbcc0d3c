"""`tradegraph agent` as an operator drives it: start one on a played market, watch it, halt
and resume it, stop it with SIGTERM, restart it by name; and the mistakes, one line each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli import TRADEGRAPH, assert_one_line_error, tradegraph

PLAYED = ("--market", "synthetic:4", "--symbol", "SYN/USDT", "--timeframe", "1h")


def _start(name: str, data: Path, *args: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    return subprocess.Popen(
        [str(TRADEGRAPH), "agent", "start", "--name", name, *args, "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def _pulse(data: Path, name: str) -> dict:
    try:
        return json.loads((data / "agents" / f"{name}.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _wait_for(process: subprocess.Popen, data: Path, name: str, decisions: int) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pulse = _pulse(data, name)
        if pulse.get("decisions", 0) >= decisions:
            return pulse
        if process.poll() is not None:
            raise AssertionError(f"the agent ended early: {process.communicate()}")
        time.sleep(0.05)
    raise AssertionError("the agent did not decide in time")


def test_an_agent_plays_a_market_to_its_end_and_shows_its_pulse(tmp_path):
    result = tradegraph(
        "agent", "start", "--name", "demo", *PLAYED, "--bars", "24", "--speed", "36000",
        "--analyst", "stress", "--data-dir", str(tmp_path),
    )  # fmt: skip

    listed = tradegraph("agent", "list", "--data-dir", str(tmp_path))
    status = tradegraph("agent", "status", "demo", "--data-dir", str(tmp_path))
    as_json = tradegraph("agent", "status", "demo", "--json", "--data-dir", str(tmp_path))
    logs = tradegraph("agent", "logs", "demo", "-n", "2", "--data-dir", str(tmp_path))
    verify = tradegraph("audit", "verify", "--data-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "agent demo started" in result.stdout and "agent demo finished" in result.stdout
    pulse = json.loads(as_json.stdout)
    assert pulse["state"] == "finished" and pulse["phase"] == "finished"
    assert pulse["decisions"] + pulse["missed"] == 24
    assert pulse["last"]["symbol"] == "SYN/USDT"
    assert "demo" in listed.stdout and "finished" in listed.stdout
    assert "account agent-demo" in status.stdout and "decisions" in status.stdout
    assert logs.stdout.splitlines()[-1].endswith(
        f"agent demo finished after {pulse['decisions']} decisions ({pulse['missed']} candle "
        "closes missed)"
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.slow
def test_sigterm_finishes_the_decision_then_a_restart_by_name_records_what_it_missed(tmp_path):
    agent = _start("a2", tmp_path, *PLAYED, "--speed", "3600", "--analyst", "stress")
    _wait_for(agent, tmp_path, "a2", 2)
    second = tradegraph("agent", "start", "--name", "a2", *PLAYED, "--data-dir", str(tmp_path))

    stopped = tradegraph("agent", "stop", "a2", "--data-dir", str(tmp_path))
    agent.communicate(timeout=60)
    time.sleep(2.5)  # two candles of this market pass while it is down
    again = _start("a2", tmp_path)
    _wait_for(again, tmp_path, "a2", _pulse(tmp_path, "a2")["decisions"] + 2)
    again.send_signal(signal.SIGTERM)
    out, err = again.communicate(timeout=60)
    logs = tradegraph("agent", "logs", "a2", "-n", "1000", "--data-dir", str(tmp_path))
    verify = tradegraph("audit", "verify", "--data-dir", str(tmp_path))

    assert_one_line_error(second, "agent a2 is running already", "agent stop a2")
    assert stopped.returncode == 0 and "agent a2 stopped" in stopped.stdout
    assert agent.returncode == 143
    assert again.returncode == 143, err
    assert "agent a2 restarted" in out
    assert "missed_ticks: " in logs.stdout and "not traded" in logs.stdout
    assert _pulse(tmp_path, "a2")["phase"] == "stopped"
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.slow
def test_a_killed_agent_lists_as_crashed_and_a_start_by_name_restarts_it(tmp_path):
    agent = _start("a4", tmp_path, *PLAYED, "--speed", "3600", "--analyst", "stress")
    _wait_for(agent, tmp_path, "a4", 1)
    agent.kill()
    agent.communicate(timeout=60)

    listed = tradegraph("agent", "list", "--data-dir", str(tmp_path))
    status = tradegraph("agent", "status", "a4", "--json", "--data-dir", str(tmp_path))
    stop = tradegraph("agent", "stop", "a4", "--data-dir", str(tmp_path))
    again = _start("a4", tmp_path)
    _wait_for(again, tmp_path, "a4", _pulse(tmp_path, "a4")["decisions"] + 1)
    again.send_signal(signal.SIGTERM)
    out, err = again.communicate(timeout=60)

    assert [line.split()[:2] for line in listed.stdout.splitlines() if "a4" in line] == [
        ["a4", "crashed"]
    ]
    assert json.loads(status.stdout)["state"] == "crashed"
    assert_one_line_error(stop, "agent a4 is not running (crashed)")
    assert again.returncode == 143, err
    assert "agent a4 restarted" in out


@pytest.mark.slow
def test_risk_halt_stops_a_running_agents_entries_within_a_cycle_and_resume_lets_it_go_on(
    tmp_path,
):
    agent = _start("a3", tmp_path, *PLAYED, "--speed", "3600", "--analyst", "stress")
    _wait_for(agent, tmp_path, "a3", 1)

    at_halt = _pulse(tmp_path, "a3")["decisions"]  # counted before: none after it may enter
    halted = tradegraph("risk", "halt", "--account", "agent-a3", "--reason", "drill",
                        "--data-dir", str(tmp_path))  # fmt: skip
    _wait_for(agent, tmp_path, "a3", at_halt + 4)
    listed = tradegraph("agent", "list", "--data-dir", str(tmp_path))
    at_resume = _pulse(tmp_path, "a3")["decisions"]  # counted before: all these were halted
    resumed = tradegraph("risk", "resume", "--account", "agent-a3", "--reason", "drill over",
                         "--data-dir", str(tmp_path))  # fmt: skip
    _wait_for(agent, tmp_path, "a3", at_resume + 3)
    agent.send_signal(signal.SIGTERM)
    agent.communicate(timeout=60)
    lines = (tmp_path / "agents" / "a3.log").read_text().splitlines()
    decisions = [line for line in lines if "SYN/USDT" in line and "→" in line]

    assert halted.returncode == 0 and resumed.returncode == 0
    assert "halted" in listed.stdout
    after_halt = decisions[at_halt + 1 : at_resume]  # the cycle in flight may still trade
    assert after_halt and all("buy" not in line.split("→")[0] for line in after_halt)
    assert any("HALTED" in line for line in after_halt)
    assert any("approved" in line for line in decisions[at_resume + 1 :])


def test_an_unknown_agent_gets_one_line_from_every_command(tmp_path):
    tradegraph("agent", "start", "--name", "known", *PLAYED, "--bars", "3", "--speed", "36000",
               "--data-dir", str(tmp_path))  # fmt: skip

    for command in ("status", "stop", "logs"):
        result = tradegraph("agent", command, "ghost", "--data-dir", str(tmp_path))
        assert_one_line_error(result, "no agent 'ghost'", "known")


def test_a_speed_on_a_live_market_and_a_bad_name_get_one_line(tmp_path):
    live = tradegraph("agent", "start", "--name", "x", "--market", "exchange:binance", "--symbol",
                      "BTC/USDT", "--speed", "10", "--data-dir", str(tmp_path))  # fmt: skip
    bad = tradegraph("agent", "start", "--name", "../etc", *PLAYED, "--data-dir", str(tmp_path))
    fresh = tradegraph("agent", "start", "--name", "new", "--data-dir", str(tmp_path))

    assert_one_line_error(live, "--speed", "real time")
    assert_one_line_error(bad, "not a usable agent name")
    assert_one_line_error(fresh, "has never run here")
    assert not (tmp_path / "agents").exists()


TWO_AGENTS = """
[[agents]]
name = "btc"
market = "synthetic:1"
symbol = "SYN/USDT"
timeframe = "1h"
bars = 12
speed = 18000

[[agents]]
name = "eth"
market = "synthetic:2"
symbol = "ALT/USDT"
timeframe = "1h"
bars = 16
speed = 18000
"""


def test_two_agents_run_side_by_side_in_one_process_and_one_data_directory(tmp_path):
    agents = tmp_path / "agents.toml"
    agents.write_text(TWO_AGENTS)
    data = tmp_path / "data"

    result = tradegraph("agent", "start", "--agents", str(agents), "--data-dir", str(data))
    listed = tradegraph("agent", "list", "--data-dir", str(data))
    verify = tradegraph("audit", "verify", "--data-dir", str(data))

    assert result.returncode == 0, result.stderr
    btc, eth = _pulse(data, "btc"), _pulse(data, "eth")
    assert btc["pid"] == eth["pid"]
    assert (btc["decisions"] + btc["missed"], eth["decisions"] + eth["missed"]) == (12, 16)
    assert btc["spec"]["account"] == "agent-btc" and eth["spec"]["account"] == "agent-eth"
    assert "[btc] agent btc finished" in result.stdout
    assert "[eth] agent eth finished" in result.stdout
    assert listed.stdout.count("finished") == 2
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.count(", chain intact") == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[agents]]\nname = 'a'\nlever = 3\n", "unknown key 'lever'"),
        ("[[agents]]\nmarket = 'synthetic:1'\n", "needs a name"),
        ("[[agents]]\nname = 'a'\nspeed = 'fast'\n", "speed must be a number"),
        ("name = 'a'\n", "[[agents]] tables"),
        ("[[agents]\n", "cannot be read"),
    ],
)
def test_a_bad_agents_file_gets_one_line(tmp_path, text, fragment):
    agents = tmp_path / "agents.toml"
    agents.write_text(text)

    result = tradegraph("agent", "start", "--agents", str(agents), "--data-dir", str(tmp_path))

    assert_one_line_error(result, fragment)
