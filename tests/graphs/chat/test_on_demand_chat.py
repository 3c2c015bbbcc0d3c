"""The chat opened per request: the data directory's writer lock is held only while a request
is answered, so another writer (the person approving in `tradegraph chat`, a run) can take it
between requests; a request while another process writes is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.writer_lock import DataDirInUseError, writer_lock
from graphs.chat.on_demand import OnDemandChat
from tests.graphs.chat.chat_support import chat_settings, kinds


def test_the_data_directory_is_free_between_requests(tmp_path: Path) -> None:
    chat = OnDemandChat(chat_settings(tmp_path))

    events = list(chat.call_tool("m1", "portfolio", {}, actor="mcp", role="trader"))
    with writer_lock(tmp_path, "another writer"):
        taken_between_requests = True
    again = list(chat.call_tool("m1", "risk_status", {}, actor="mcp", role="trader"))

    assert taken_between_requests
    assert kinds(events) == kinds(again) == ["tool_call", "tool_result", "answer"]
    assert [m.role for m in chat.view("m1").messages] == ["user", "assistant"] * 2


def test_a_request_while_another_process_writes_says_who_holds_the_directory(
    tmp_path: Path,
) -> None:
    chat = OnDemandChat(chat_settings(tmp_path))

    with writer_lock(tmp_path, "tradegraph agent start"), pytest.raises(DataDirInUseError) as held:
        chat.call_tool("m1", "portfolio", {}, actor="mcp", role="trader")

    assert "tradegraph agent start" in str(held.value)
    assert "\n" not in str(held.value)


def test_the_tools_are_listed_without_taking_the_lock(tmp_path: Path) -> None:
    chat = OnDemandChat(chat_settings(tmp_path))

    with writer_lock(tmp_path, "tradegraph agent start"):
        names = [tool["name"] for tool in chat.tool_definitions()]

    assert "backtest_strategy" in names
