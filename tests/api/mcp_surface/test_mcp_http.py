"""The MCP endpoint over streamable HTTP on its own: under uvicorn on 127.0.0.1, driven by the
official SDK's `streamable_http_client`, its caller given as `tradegraph serve` gives it
(`request.state.caller`), over a real `ChatEngine`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from api.mcp_surface.http import mcp_http_app
from api.server.auth import Caller as Key
from api.server.serve import serving_in_thread
from graphs.chat.service import ChatEngine
from tests.graphs.chat.chat_support import SYMBOL, chat_settings, ledger_rows

IDEA = {"symbol": SYMBOL, "side": "buy", "quantity": 1, "stop_price": 75}


class GivenCaller:
    """Stands in for the server's key guard (`api.server.auth.KeyGuard`): every request comes
    as `key`."""

    def __init__(self, app: ASGIApp, key: Key) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["caller"] = self.key
        await self.app(scope, receive, send)


@dataclass
class Calls:
    tools: list[types.Tool]
    portfolio: types.CallToolResult
    proposal: types.CallToolResult
    viewer_proposal: types.CallToolResult
    parallel: list[types.CallToolResult]
    unguarded: types.CallToolResult
    logged: list[logging.LogRecord] = field(default_factory=list)


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Calls, Path]]:
    root = tmp_path_factory.mktemp("mcp-http")
    with ChatEngine(chat_settings(root)) as engine:
        trader_app, trader_lifespan = mcp_http_app(engine)
        viewer_app, viewer_lifespan = mcp_http_app(engine)
        bare_app, bare_lifespan = mcp_http_app(engine)

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            async with trader_lifespan(), viewer_lifespan(), bare_lifespan():
                yield

        routes = [
            Mount("/mcp", GivenCaller(trader_app, Key(name="alice", role="trader"))),
            Mount("/viewer", GivenCaller(viewer_app, Key(name="bob", role="viewer"))),
            Mount("/unguarded", bare_app),
        ]
        kept, sdk = Kept(), logging.getLogger("mcp")
        sdk.addHandler(kept)
        try:
            with serving_in_thread(Starlette(routes=routes, lifespan=lifespan)) as url:
                served = anyio.run(converse, url)
        finally:
            sdk.removeHandler(kept)
        served.logged = kept.records
        yield served, root


async def converse(url: str) -> Calls:
    async with (
        httpx.AsyncClient() as http,
        streamable_http_client(f"{url}/mcp/", http_client=http) as (read, write, _),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        tools = (await client.list_tools()).tools
        portfolio = await client.call_tool("portfolio", {})
        proposal = await client.call_tool("propose_trade", IDEA)
        parallel: list[types.CallToolResult] = []

        async def call(name: str, arguments: dict[str, object]) -> None:
            parallel.append(await client.call_tool(name, arguments))

        async with anyio.create_task_group() as calls:
            for _ in range(2):
                calls.start_soon(call, "backtest_strategy", {"strategy": "bollinger", "days": 365})
                calls.start_soon(call, "portfolio", {})
    async with (
        httpx.AsyncClient() as http,
        streamable_http_client(f"{url}/viewer/", http_client=http) as (read, write, _),
        ClientSession(read, write) as viewer,
    ):
        await viewer.initialize()
        viewer_proposal = await viewer.call_tool("propose_trade", IDEA)
    async with (
        httpx.AsyncClient() as http,
        streamable_http_client(f"{url}/unguarded/", http_client=http) as (read, write, _),
        ClientSession(read, write) as nobody,
    ):
        await nobody.initialize()
        unguarded = await nobody.call_tool("portfolio", {})
    return Calls(tools, portfolio, proposal, viewer_proposal, parallel, unguarded)


def test_the_tools_and_a_call_over_http(calls: tuple[Calls, Path]) -> None:
    served, _ = calls

    assert "backtest_strategy" in {tool.name for tool in served.tools}
    assert not served.portfolio.isError
    assert served.portfolio.structuredContent is not None
    assert served.portfolio.structuredContent["account"] == "chat"


def test_a_proposal_over_http_says_how_to_approve_it_over_http(calls: tuple[Calls, Path]) -> None:
    served, root = calls
    answer = served.proposal.structuredContent

    assert answer is not None and answer["approval"]["approved_by_validator"]
    assert f"POST /v1/chat/{answer['thread']}/approve" in answer["how_to_approve"]
    assert answer["approval"]["approval_id"] in answer["how_to_approve"]
    assert ledger_rows(root) == ([], [])


def test_a_viewers_key_cannot_propose(calls: tuple[Calls, Path]) -> None:
    served, _ = calls

    assert served.viewer_proposal.isError
    first = served.viewer_proposal.content[0]
    assert isinstance(first, types.TextContent)
    assert first.text == "a viewer cannot propose trades: use a trader's key"


def test_calls_sent_in_parallel_in_one_session_all_answer(calls: tuple[Calls, Path]) -> None:
    served, _ = calls

    assert len(served.parallel) == 4
    assert [result.isError for result in served.parallel] == [False] * 4


def test_served_without_the_servers_key_guard_every_call_is_refused(
    calls: tuple[Calls, Path],
) -> None:
    served, _ = calls

    assert served.unguarded.isError
    first = served.unguarded.content[0]
    assert isinstance(first, types.TextContent)
    assert first.text.startswith("no API key came with this request")


def test_clients_ending_their_sessions_leave_no_error_in_the_log(calls: tuple[Calls, Path]) -> None:
    served, _ = calls

    assert [record.getMessage() for record in served.logged] == []
