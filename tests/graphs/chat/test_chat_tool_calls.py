"""Turns with no model that a surface such as MCP drives: one tool called by name, and a trade
proposed as data. Each is a turn of its thread, recorded in the thread's audit chain; a
proposal goes through the validator and waits for a person, nothing placed."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.types import Trace
from graphs.chat.audit import chat_run_id
from graphs.chat.contract import NotAllowedError, ThreadBusyError
from graphs.chat.service import ChatEngine
from memory.audit import load_trace
from memory.store import existing_collection, open_chroma
from memory.traces import COLLECTION, trace_id
from tests.graphs.chat.chat_support import SYMBOL, chat_settings, kinds, ledger_rows

IDEA = {"symbol": SYMBOL, "side": "buy", "quantity": 1, "stop_price": 75, "thesis": "a test"}


def stored_trace(root: Path, thread: str, seq: int) -> Trace:
    traces = existing_collection(open_chroma(root), COLLECTION, str(root))
    trace = load_trace(traces, trace_id(chat_run_id(thread), seq))
    assert trace is not None, f"no trace {seq} in thread {thread}"
    return trace


def test_a_tool_called_by_name_streams_its_result_and_is_recorded(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        events = list(engine.call_tool("m1", "risk_status", {}, actor="mcp", role="viewer"))

    assert kinds(events) == ["tool_call", "tool_result", "answer"]
    assert events[1].data is not None and events[1].data["account"] == "chat"
    assert "account chat: ACTIVE" in events[-1].text
    trace = stored_trace(tmp_path, "m1", 0)
    assert [e.kind for e in trace.events] == ["chat_call", "chat_tool"]
    assert trace.events[0].detail.startswith("mcp (viewer): risk_status {}")


def test_a_tool_call_with_bad_input_is_one_error_line_and_recorded(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        events = list(
            engine.call_tool("m1", "decide_now", {"symbol": 7}, actor="mcp", role="trader")
        )

    assert kinds(events) == ["tool_call", "tool_result", "error"]
    assert events[-1].text.startswith("invalid input at symbol")
    assert "\n" not in events[-1].text
    assert "error: invalid input" in stored_trace(tmp_path, "m1", 0).events[1].detail


def test_the_tool_definitions_are_the_chat_registrys_without_a_trade_tool(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        names = [tool["name"] for tool in engine.tool_definitions()]

    assert {"backtest_strategy", "risk_status", "portfolio", "why", "decide_now"} <= set(names)
    assert not {"propose_trade", "place_order", "approve"} & set(names)


def test_a_proposal_waits_for_a_person_and_places_nothing(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        events = list(engine.propose("p1", IDEA, actor="mcp", role="trader"))
        view = engine.view("p1")
        with pytest.raises(ThreadBusyError):
            engine.call_tool("p1", "portfolio", {}, actor="mcp", role="trader")

    assert kinds(events) == ["approval"]
    assert events[0].data is not None and events[0].data["approved_by_validator"]
    assert view.pending is not None and view.pending.approval_id == events[0].data["approval_id"]
    assert ledger_rows(tmp_path) == ([], [])
    trace = stored_trace(tmp_path, "p1", 0)
    assert trace.events[0].kind == "chat_propose"
    assert trace.proposal.thesis.endswith(": a test")


def test_a_proposal_that_does_not_read_is_one_error_line(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        events = list(engine.propose("p1", {**IDEA, "side": "hold"}, actor="mcp", role="trader"))
        view = engine.view("p1")

    assert kinds(events) == ["error"]
    assert events[0].text.startswith("invalid input at side")
    assert view.pending is None


def test_a_viewer_cannot_propose(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine, pytest.raises(NotAllowedError):
        engine.propose("p1", IDEA, actor="mcp", role="viewer")
