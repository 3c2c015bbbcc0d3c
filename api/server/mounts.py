"""The seam through which other surfaces (the MCP server) are served beside the chat routes.

A surface returns `MountedApp`s from `surface_mounts`; `create_app` serves each one's ASGI app
under its `path` (a Starlette `Mount`: the app sees the paths below it) behind the same key
auth as the chat routes: a request without a live key gets 401, one whose key's role is below
`role` gets 403, both with the server's JSON error body, and the app is never called. A request
let through carries its caller in `scope["state"]["caller"]` (an `api.server.auth.Caller`:
the key's `name` and `role`), which a Starlette app reads as `request.state.caller`. A mount's
`lifespan`, if any, is entered when the server starts and exited when it stops, inside the
server's own lifespan (a mounted Starlette app's own lifespan is never run by a `Mount`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from graphs.chat.contract import ChatService, Role


@dataclass(frozen=True)
class MountedApp:
    path: str  # e.g. "/mcp"
    app: ASGIApp  # a Starlette/ASGI app served under `path`
    role: Role  # the lowest key role allowed under `path`
    lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None
    # entered and exited inside the server's own lifespan (FastMCP's session manager)


def surface_mounts(service: ChatService) -> list[MountedApp]:
    """Every surface served beside the chat routes, over the same chat `service`."""
    from api.mcp_surface.http import mcp_mount

    return [mcp_mount(service)]


class MountRoots:
    """ASGI middleware: a request to a mount's own path (`/mcp`) is served where the mount
    answers (`/mcp/`) rather than redirected there, so a client (an MCP client posting to the
    URL it was given) gets its answer in one request, not a 307 before each call."""

    def __init__(self, app: ASGIApp, paths: Sequence[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] in self.paths:
            path = scope["path"] + "/"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
