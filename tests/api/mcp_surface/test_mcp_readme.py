"""The README's Claude Desktop configuration serves MCP as written. Claude Desktop is not here:
the test reads the `mcpServers` entry out of README.md, puts this checkout where it says
/path/to/tradegraph (and a fresh data directory in place of its own), and starts the command
the app would start, as it would (the SDK's default environment, none of the shell's
variables), with the official SDK's stdio client."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = "/path/to/tradegraph"
JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.MULTILINE | re.DOTALL)


def desktop_entry() -> dict[str, Any]:
    [block] = [b for b in JSON_BLOCK.findall((ROOT / "README.md").read_text()) if "mcpServers" in b]
    entry: dict[str, Any] = json.loads(block)["mcpServers"]["tradegraph"]
    return entry


async def tools_and_risk(params: StdioServerParameters) -> tuple[list[str], types.CallToolResult]:
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        tools = [tool.name for tool in (await client.list_tools()).tools]
        return tools, await client.call_tool("risk_status", {})


def test_the_claude_desktop_entry_starts_a_server_that_answers(tmp_path: Path) -> None:
    entry = desktop_entry()
    command, args = str(entry["command"]), [str(a) for a in entry["args"]]
    assert command.startswith(PLACEHOLDER) and args[:2] == ["mcp", "--data-dir"]
    data_dir = args[2].replace(PLACEHOLDER, str(tmp_path))
    params = StdioServerParameters(
        command=command.replace(PLACEHOLDER, str(ROOT)), args=[*args[:2], data_dir]
    )

    tools, risk = anyio.run(tools_and_risk, params)

    assert "backtest_strategy" in tools and "propose_trade" in tools
    assert not risk.isError and risk.structuredContent is not None
    assert risk.structuredContent["state"] == "ACTIVE"
    assert (Path(data_dir) / "writer.lock").exists()  # the server wrote where it was told
