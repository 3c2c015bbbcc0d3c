"""`tradegraph mcp`: the chat's tools as an MCP server over stdio, for Claude Desktop, Claude
Code or any MCP client that starts it as a subprocess.

stdout carries the protocol and nothing else: before serving, file descriptor 1 is pointed at
stderr (so a stray print, from us or a library, lands in the log) and the protocol writes to
a copy of the original. The engine is opened for each call (`OnDemandChat`), so between calls
the data directory is free: the person approving a proposal runs `tradegraph chat --thread`
on it while the client stays connected. The calls run as a trader named `mcp`.
"""

from __future__ import annotations

import io
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from api.chat_cli import AccountOption, ChatMarketOption
from api.options import DataDirOption

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server

    from graphs.chat.contract import PendingApproval

ACTOR = "mcp"


def mcp(
    account: AccountOption = None,
    market: ChatMarketOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the chat's tools over MCP on stdin/stdout (backtests, decisions, risk, portfolio;
    proposed trades wait for a person's approval)."""
    from api.mcp_surface.server import Caller, build_mcp_server
    from core.datadir import prepare_data_dir
    from core.settings import load_settings
    from graphs.chat.on_demand import OnDemandChat

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, force=True)
    # the SDK warns of every call to a tool it did not list: an unknown tool is answered anyway
    logging.getLogger("mcp.server.lowlevel.server").setLevel(logging.ERROR)
    settings = load_settings(data_dir=data_dir, market=market)
    root = settings.data_dir.expanduser().resolve()
    chat_command = _chat_command(root, account, settings.market)

    def how_to_approve(pending: PendingApproval) -> str:
        return (
            f"a person approves or rejects {pending.approval_id} with "
            f"`{chat_command} --thread {pending.thread}` (it asks approve or reject) before "
            "it expires; nothing is placed until then"
        )

    prepare_data_dir(settings.data_dir)  # one that cannot be used fails here, in one line
    service = OnDemandChat(settings, account=account, market=market)
    trader = Caller(actor=ACTOR, role="trader")
    server = build_mcp_server(
        service, caller_of=lambda request: trader, how_to_approve=how_to_approve
    )
    serve_stdio(server)


def serve_stdio(server: Server[object, object]) -> None:
    """Serve until the client closes stdin; only the protocol reaches the real stdout."""
    import anyio
    from mcp.server.stdio import stdio_server

    sys.stdout.flush()
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    out = anyio.wrap_file(io.TextIOWrapper(protocol, encoding="utf-8", write_through=True))

    async def serve() -> None:
        async with stdio_server(stdout=out) as (read, write):
            await server.run(read, write, server.create_initialization_options())

    try:
        anyio.run(serve)
    finally:
        protocol.close()


def _chat_command(root: Path, account: str | None, market: str) -> str:
    """The `tradegraph chat` line that opens a thread of this server's data directory,
    account and market (so the approval is validated where the proposal was)."""
    words = ["tradegraph", "chat", "--data-dir", str(root)]
    words += ["--account", account] if account else []
    words += ["--market", market]
    return shlex.join(words)
