"""What an MCP client (Claude Desktop, Claude Code) does with a configured server, on the
official SDK's client: connect, initialize, list the tools, call `risk_status`; it prints the
server's name, the tools and the call's result, and exits 0 if it all worked.

    python tests/mcp_client.py stdio -- tradegraph mcp --data-dir DIR
    python tests/mcp_client.py http http://127.0.0.1:8765/mcp --header "Authorization: Bearer KEY"

It stands in for the `claude` command, which is not here, in the README's tests: they run the
command a `claude mcp add` line would configure.
"""

from __future__ import annotations

import json
import sys
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import httpx
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

USAGE = (
    "usage: mcp_client.py stdio -- COMMAND [ARGS...] | "
    'mcp_client.py http URL [--header "NAME: VALUE"]'
)


async def probe(transport: AbstractAsyncContextManager[Any]) -> None:
    async with transport as streams, ClientSession(streams[0], streams[1]) as client:
        started = await client.initialize()
        tools = (await client.list_tools()).tools
        risk = await client.call_tool("risk_status", {})
    print(f"server {started.serverInfo.name} {started.serverInfo.version}")
    print(f"{len(tools)} tools: {', '.join(tool.name for tool in tools)}")
    if risk.isError or risk.structuredContent is None:
        sys.exit(f"risk_status failed: {risk.content}")
    print("risk_status:", json.dumps({k: risk.structuredContent[k] for k in ("account", "state")}))


def transport_of(argv: list[str]) -> AbstractAsyncContextManager[Any]:
    if len(argv) >= 3 and argv[0] == "stdio" and argv[1] == "--":
        return stdio_client(StdioServerParameters(command=argv[2], args=argv[3:]))
    if len(argv) in (2, 4) and argv[0] == "http" and argv[2:3] in ([], ["--header"]):
        headers = {}
        if len(argv) == 4:
            name, _, value = argv[3].partition(":")
            headers[name.strip()] = value.strip()
        http = httpx.AsyncClient(headers=headers, timeout=30)
        return streamable_http_client(argv[1], http_client=http)
    sys.exit(USAGE)


if __name__ == "__main__":
    anyio.run(probe, transport_of(sys.argv[1:]))
