"""The agents of a data directory as the chat lists them, judged from their pulse files."""

from __future__ import annotations

import os

import pytest

from core.backends import storage_for
from core.risk_state import RiskState
from graphs.agent.pulse import write_pulse
from graphs.chat.desk import ChatDesk, call_tool, chat_registry
from risk.breakers import BreakerBoard
from tests.graphs.chat.conftest import DESK_RUN, agent_pulse, desk_settings


def _registry(tmp_path, now_ms: int = 1_700_000_102_000):
    return chat_registry(ChatDesk(desk_settings(tmp_path), now_ms=lambda: now_ms))


def test_an_agent_whose_process_is_gone_reads_as_crashed_with_its_last_decision(tmp_path):
    write_pulse(tmp_path, agent_pulse("btc"))

    view = call_tool(_registry(tmp_path), "list_agents", {}).result

    (agent,) = view["agents"]
    assert agent["name"] == "btc" and agent["state"] == "crashed"
    assert agent["account"] == "agent-btc" and agent["decisions"] == 12
    assert agent["last_decision"] == "2023-11-14T22:13Z SYN/USDT BUY -> denied"
    assert agent["heartbeat_age_s"] == 2.0
    assert "\x1b" not in agent["message"]


def test_a_live_agent_of_a_halted_account_reads_as_halted(tmp_path, monkeypatch):
    monkeypatch.setattr("graphs.agent.pulse.process_alive", lambda pid: True)
    write_pulse(tmp_path, agent_pulse("eth", pid=os.getpid()))
    settings = desk_settings(tmp_path)
    store = RiskState(tmp_path, storage_for(settings, tmp_path).state_store("risk_state"))
    BreakerBoard(store, "agent-eth", settings.breakers).halt("review", 1)

    view = call_tool(_registry(tmp_path), "list_agents", {"name": "eth"}).result

    assert [a["state"] for a in view["agents"]] == ["halted"]


def test_no_agents_is_an_empty_list(tmp_path):
    assert call_tool(_registry(tmp_path), "list_agents", {}).result == {
        "agents": [],
        "left_out": 0,
    }


@pytest.mark.parametrize(
    ("payload", "said"),
    [({"name": "nobody"}, "no agent 'nobody' here (agents: btc)"), ({"name": "x" * 99}, "name")],
)
def test_a_bad_agents_call_is_one_line(tmp_path, payload, said):
    write_pulse(tmp_path, agent_pulse("btc"))

    outcome = call_tool(_registry(tmp_path), "list_agents", payload)

    assert not outcome.ok and said in outcome.error


@DESK_RUN
@pytest.mark.slow
def test_the_agents_beside_a_real_run_are_listed(desk_run):
    view = call_tool(chat_registry(desk_run.desk()), "list_agents", {}).result

    assert [a["name"] for a in view["agents"]] == ["btc-watch"]
