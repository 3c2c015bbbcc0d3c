"""`/mcp` on `tradegraph serve`'s app: the official SDK's streamable HTTP client with an API
key, at the address the README gives Claude Code; no key is 401; a viewer's key reads but
cannot propose; a trader's proposal is approved by a person over the server's own route."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client

from api.server.app import create_app
from api.server.mounts import surface_mounts
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from graphs.chat.service import ChatEngine
from tests.api.server.server_support import error_of, make_keys
from tests.graphs.chat.chat_support import SYMBOL, chat_settings, ledger_rows

IDEA = {"symbol": SYMBOL, "side": "buy", "quantity": 1, "stop_price": 75}


@dataclass
class Served:
    url: str
    root: Path
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("mcp-served")
    tokens = make_keys(root)
    with (
        ChatEngine(chat_settings(root)) as engine,
        closing(open_api_keys(Storage(root))) as keys,
        serving_in_thread(create_app(engine, keys, mounts=surface_mounts(engine))) as url,
    ):
        yield Served(url, root, tokens)


async def session_calls(url: str, token: str, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    """The tools' names, then each call's result, in one session with `token`'s key."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        results: list[Any] = [[tool.name for tool in (await client.list_tools()).tools]]
        for name, arguments in calls:
            results.append(await client.call_tool(name, arguments))
    return results


def text_of(result: types.CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, types.TextContent)
    return first.text


def test_a_trader_proposes_over_mcp_and_a_person_approves_over_http(served: Served) -> None:
    names, risk, proposal = anyio.run(
        session_calls,
        served.url,
        served.tokens["trader"],
        ("risk_status", {}),
        ("propose_trade", IDEA),
    )
    answer = proposal.structuredContent
    assert "backtest_strategy" in names and not risk.isError
    assert answer is not None and answer["approval"]["approved_by_validator"], text_of(proposal)
    assert ledger_rows(served.root) == ([], [])

    route = answer["how_to_approve"].split("`")[1].removeprefix("POST ")
    with httpx.Client(base_url=served.url, timeout=30) as http:
        approved = http.post(
            route,
            json={"approval_id": answer["approval"]["approval_id"]},
            headers={"Authorization": f"Bearer {served.tokens['trader']}"},
        )

    assert approved.status_code == 200, approved.text
    assert approved.json()["events"][-1]["text"].startswith(f"filled buy 1 {SYMBOL} at ")
    orders, _ = ledger_rows(served.root)
    assert [(order.symbol, status) for order, status in orders] == [(SYMBOL, "filled")]


def test_a_viewers_key_reads_but_cannot_propose(served: Served) -> None:
    _, portfolio, proposal = anyio.run(
        session_calls,
        served.url,
        served.tokens["viewer"],
        ("portfolio", {}),
        ("propose_trade", IDEA),
    )

    assert not portfolio.isError
    assert proposal.isError
    assert text_of(proposal) == "a viewer cannot propose trades: use a trader's key"


def test_without_a_key_mcp_is_401_with_the_servers_error_body(served: Served) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    with httpx.Client(base_url=served.url, timeout=30) as http:
        response = http.post("/mcp", json=initialize, headers=accept)

    status, code, message = error_of(response)
    assert (status, code) == (401, "missing_key")
    assert "tradegraph keys create" in message


def test_mcp_answers_at_its_own_path_without_a_redirect(served: Served) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": types.LATEST_PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"},
        },
    }
    headers = {
        "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {served.tokens['viewer']}",
    }
    with httpx.Client(base_url=served.url, timeout=30) as http:
        response = http.post("/mcp", json=initialize, headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["mcp-session-id"]
