"""A request body over the limit is refused with the server's JSON error body (413).

A declared `Content-Length` over the limit is refused before anything is read; a body sent
in chunks is counted as it is read and, once it goes over, refused and cut short: the app
reads a disconnect, and what it answers then is dropped.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.server.errors import ApiError, refusal

TOO_LARGE: Final = "the body is too large: a message holds at most 8,000 characters"


class BodyLimit:
    """ASGI middleware: at most `max_bytes` of request body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await refusal(too_large())(scope, receive, send)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes and not (started or refused):
                refused = True
                await refusal(too_large())(scope, receive, send)
            return {"type": "http.disconnect"} if refused else message

        async def unless_refused(message: Message) -> None:
            nonlocal started
            if not refused:
                started = started or message["type"] == "http.response.start"
                await send(message)

        try:
            await self.app(scope, counted, unless_refused)
        except Exception:
            if not refused:  # what the app made of the cut body: it was answered already
                raise


def too_large() -> ApiError:
    return ApiError(413, "body_too_large", TOO_LARGE)
