"""`tradegraph mcp` as an MCP client sees it: a real subprocess on a fresh data directory,
driven by the official SDK's `stdio_client` and `ClientSession`.

One server serves the whole module: a session lists the tools, runs a backtest, reads risk and
the portfolio, makes a bad call, proposes a trade and, while the session is still open, a
person approves it with the `tradegraph chat` line the answer gave; the tests then read what
each step returned, and the data directory's audit chains and ledger."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from tests.cli import assert_one_line_error, tradegraph
from tests.graphs.chat.chat_support import SYMBOL, ledger_rows

TRADEGRAPH = Path(sys.executable).parent / "tradegraph"
SETTINGS = {"TRADEGRAPH_MARKET": "synthetic:7", "TRADEGRAPH_MEMORY__EMBEDDING": "hashing"}
IDEA = {"symbol": SYMBOL, "side": "buy", "quantity": 1, "stop_price": 75, "thesis": "via MCP"}


@dataclass
class Session:
    """What each call of the session returned, in order."""

    root: Path
    tools: list[types.Tool]
    backtest: types.CallToolResult
    risk: types.CallToolResult
    portfolio_before: types.CallToolResult
    bad_args: types.CallToolResult
    unknown_tool: types.CallToolResult
    proposal: types.CallToolResult
    orders_before_approval: list[Any]
    approver: subprocess.CompletedProcess[str]
    portfolio_after: types.CallToolResult
    stderr: str


def server_env() -> dict[str, str]:
    outside = ("ANTHROPIC_", "TRADEGRAPH_")
    return {k: v for k, v in os.environ.items() if not k.startswith(outside)} | SETTINGS


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    root = tmp_path_factory.mktemp("mcp-stdio")
    errlog = root.parent / "mcp-stderr.log"
    with errlog.open("w") as stderr:
        served = anyio.run(converse, root, stderr)
    served.stderr = errlog.read_text()
    return served


async def converse(root: Path, stderr: Any) -> Session:
    params = StdioServerParameters(
        command=str(TRADEGRAPH), args=["mcp", "--data-dir", str(root)], env=server_env()
    )
    async with (
        stdio_client(params, errlog=stderr) as (read, write),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        tools = (await client.list_tools()).tools
        backtest = await client.call_tool(
            "backtest_strategy",
            {"strategy": "bollinger", "symbol": SYMBOL, "timeframe": "1h", "days": 30},
        )
        risk = await client.call_tool("risk_status", {})
        before = await client.call_tool("portfolio", {})
        bad = await client.call_tool("decide_now", {"symbol": 7})
        unknown = await client.call_tool("place_order", {"symbol": SYMBOL})
        proposal = await client.call_tool("propose_trade", IDEA)
        orders, _ = ledger_rows(root)
        approver = await anyio.to_thread.run_sync(approve, proposal)
        after = await client.call_tool("portfolio", {})
    return Session(
        root, tools, backtest, risk, before, bad, unknown, proposal, orders, approver, after, ""
    )


def approve(proposal: types.CallToolResult) -> subprocess.CompletedProcess[str]:
    """The person: runs the `tradegraph chat ...` line the proposal's answer gives, types a."""
    assert proposal.structuredContent is not None
    line = proposal.structuredContent["how_to_approve"].split("`")[1]
    words = shlex.split(line)
    assert words[0] == "tradegraph"
    return subprocess.run(
        [str(TRADEGRAPH), *words[1:]],
        input="a\n",
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=120,
        check=False,
    )


def text_of(result: types.CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, types.TextContent)
    return first.text


def test_the_tools_are_the_chats_with_their_schemas_and_a_proposal_but_no_approval(
    session: Session,
) -> None:
    tools = {tool.name: tool for tool in session.tools}

    assert {"backtest_strategy", "risk_status", "portfolio", "why", "propose_trade"} <= set(tools)
    assert not {"approve", "place_order", "halt", "resume"} & set(tools)
    backtest = tools["backtest_strategy"]
    assert backtest.description and "Backtest" in backtest.description
    assert {"strategy", "symbol", "timeframe", "days"} <= set(backtest.inputSchema["properties"])
    assert tools["propose_trade"].inputSchema["required"] == ["symbol", "side", "quantity"]
    assert backtest.annotations is not None and backtest.annotations.readOnlyHint


def test_a_backtest_answers_with_structured_figures_and_the_same_json_as_text(
    session: Session,
) -> None:
    result = session.backtest

    assert not result.isError, text_of(result)
    figures = result.structuredContent
    assert figures is not None and figures["strategy"] == "bollinger"
    assert {"total_return", "sharpe", "max_drawdown"} <= set(figures["metrics"])
    assert '"strategy":"bollinger"' in text_of(result)


def test_risk_and_portfolio_read_the_chats_paper_account(session: Session) -> None:
    risk, portfolio = session.risk.structuredContent, session.portfolio_before.structuredContent

    assert risk is not None and (risk["account"], risk["state"]) == ("chat", "ACTIVE")
    assert portfolio is not None and portfolio["positions"] == []


def test_bad_arguments_and_an_unknown_tool_are_one_line_tool_errors(session: Session) -> None:
    assert session.bad_args.isError
    assert text_of(session.bad_args) == "invalid input at symbol: Input should be a valid string"
    assert session.unknown_tool.isError
    assert text_of(session.unknown_tool).startswith("no tool named 'place_order': use one of")


def test_a_proposal_waits_for_a_person_and_nothing_is_filled_before(session: Session) -> None:
    answer = session.proposal.structuredContent

    assert not session.proposal.isError and answer is not None
    assert answer["status"].startswith("waiting for a person's approval")
    assert answer["approval"]["approved_by_validator"] is True
    assert any(check["name"] for check in answer["approval"]["checks"])
    assert answer["thread"].startswith("mcp-") and answer["thread"].endswith("-p1")
    assert f"--data-dir {session.root}" in answer["how_to_approve"]
    assert session.orders_before_approval == []


def test_a_person_approves_it_with_the_chat_line_while_the_session_stays_open(
    session: Session,
) -> None:
    assert session.approver.returncode == 0, session.approver.stderr
    assert f"filled buy 1 {SYMBOL} at " in session.approver.stdout
    positions = (session.portfolio_after.structuredContent or {})["positions"]
    assert [(p["symbol"], p["quantity"]) for p in positions] == [(SYMBOL, 1.0)]


def test_every_call_is_in_the_audit_chain_which_verifies(session: Session) -> None:
    verified = subprocess.run(
        [str(TRADEGRAPH), "audit", "verify", "--data-dir", str(session.root)],
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=120,
        check=False,
    )

    assert verified.returncode == 0, verified.stdout + verified.stderr
    calls = session.proposal.structuredContent["thread"].removesuffix("-p1")  # type: ignore[index]
    assert f"run chat-{calls}: 6 traces, chain intact" in verified.stdout
    assert f"run chat-{calls}-p1: 2 traces, chain intact" in verified.stdout


def test_the_server_logs_nothing_alarming_on_stderr(session: Session) -> None:
    assert session.stderr == ""


def test_an_unusable_data_directory_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")

    done = tradegraph("mcp", "--data-dir", str(blocked / "data"), env=SETTINGS)

    assert_one_line_error(done, "is not writable", "--data-dir")
    assert done.stdout == ""
