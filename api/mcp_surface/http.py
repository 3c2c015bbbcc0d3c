"""The chat's MCP server over streamable HTTP, served by `tradegraph serve` under `/mcp`.

The server puts every request to `/mcp` behind its API keys and tells the app who calls
(`request.state.caller`: the key's name and role); the MCP calls run as that caller, so a
viewer's key reads and cannot propose, and the audit names the key. The same engine serves
the chat routes, which hold the data directory while the server runs, so a person approves an
MCP proposal over HTTP: `POST /v1/chat/THREAD/approve` with a trader's key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from anyio import ClosedResourceError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import ASGIApp

from api.mcp_surface.server import Caller, CallerOf, build_mcp_server
from api.server.auth import CALLER
from api.server.auth import Caller as KeyCaller
from api.server.mounts import MountedApp
from core.errors import UserError
from graphs.chat.contract import ChatService, PendingApproval

MCP_PATH = "/mcp"


def mcp_http_app(
    service: ChatService, *, caller_of: CallerOf | None = None
) -> tuple[ASGIApp, Callable[[], AbstractAsyncContextManager[None]]]:
    """The MCP endpoint as an ASGI app (answering at whatever path it is mounted on) and the
    lifespan its sessions need, entered while it serves."""
    server = build_mcp_server(
        service, caller_of=caller_of or key_caller, how_to_approve=how_to_approve_over_http
    )
    sessions = StreamableHTTPSessionManager(app=server, stateless=False)
    _quiet_ordinary_disconnects()
    return sessions.handle_request, sessions.run


def mcp_mount(service: ChatService) -> MountedApp:
    """`/mcp` on `tradegraph serve`: any key may read (a viewer's cannot propose)."""
    app, lifespan = mcp_http_app(service)
    return MountedApp(path=MCP_PATH, app=app, role="viewer", lifespan=lifespan)


def key_caller(request: Any) -> Caller:
    """The caller `tradegraph serve` let through: its key's name and role."""
    state = getattr(request, "state", None)
    key = getattr(state, CALLER, None)
    if not isinstance(key, KeyCaller):
        raise UserError("no API key came with this request: /mcp is served by `tradegraph serve`")
    return Caller(actor=key.name, role=key.role)


class _OrdinaryDisconnect(logging.Filter):
    """The SDK (1.x) logs a traceback each time a client ends its session, when the stream
    of server-initiated messages it was holding is closed (`anyio.ClosedResourceError`): an
    ordinary event, kept out of the server's log. Any other error still reaches it."""

    def filter(self, record: logging.LogRecord) -> bool:
        closed = record.exc_info is not None and isinstance(record.exc_info[1], ClosedResourceError)
        return not (closed and record.getMessage() == "Error in standalone SSE writer")


def _quiet_ordinary_disconnects() -> None:
    sdk = logging.getLogger("mcp.server.streamable_http")
    if not any(isinstance(f, _OrdinaryDisconnect) for f in sdk.filters):
        sdk.addFilter(_OrdinaryDisconnect())


def how_to_approve_over_http(pending: PendingApproval) -> str:
    return (
        f"a person approves it with `POST /v1/chat/{pending.thread}/approve` and the body "
        f'{{"approval_id": "{pending.approval_id}"}} on this server, with a trader\'s key '
        f"(or rejects it with `/reject`) before it expires; nothing is placed until then"
    )
