"""The chat's routes: a turn streamed as server-sent events, approve, reject, a thread's view.

`POST /v1/chat` answers with `text/event-stream`: one `event: KIND` / `data: JSON` frame per
`ChatEvent` (token, tool_call, tool_result, then exactly one approval, answer or error), and
the stream ends after that last one. A mistake the engine can tell at once (unknown thread,
busy, budget spent, a viewer proposing a trade) is an HTTP error before any event. The turn
runs on the engine's worker thread and its events are carried to the event loop by a thread
of the stream's own, so neither a slow model nor a slow client blocks other requests; a
client that goes away does not cut the turn short (it is finished and recorded).
Approve and reject run the resumed turn to its end and answer its events as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.server.auth import Caller, KeyLookup, caller_with
from api.server.rate_limit import WRITE_LIMIT, KeyBuckets, limited
from graphs.chat.contract import ChatEvent, ChatService, ThreadView

log = logging.getLogger(__name__)

SSE_HEADERS: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE_S: Final = 15.0
KEEPALIVE: Final = b": keep-alive\n\n"
"""An SSE comment: clients ignore it; proxies see the stream is alive while a model thinks."""
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "No API key, or an unknown or revoked one."},
    403: {"description": "The key's role is too low for this."},
    404: {"description": "No such thread."},
    422: {"description": "The body is not valid: one line says which field and why."},
}
STREAM_DOC: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The turn's events, one server-sent event each, ending after the "
        "approval, answer or error event:\n\n"
        'event: tool_call\ndata: {"kind":"tool_call","thread":"t1","tool":"risk_status",...}',
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    409: {"description": "The thread is answering, or waits for a decision on a trade."},
    429: {"description": "The thread's or the day's model budget is spent."},
    **ERRORS,
}
DECISION_DOC: Final[dict[int | str, dict[str, Any]]] = {
    409: {"description": "The thread waits for no approval, or for another one."},
    410: {"description": "The approval expired unanswered: nothing was traded."},
    **ERRORS,
}


class ChatRequest(BaseModel):
    """A message for a thread: a slash command (answered offline) or a question."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(description="A question, or a slash command such as /risk (/help).")
    thread: str | None = Field(
        default=None,
        description="The thread to continue, or a new id to start one; none: a new thread "
        "(its id is in every event).",
    )


class DecisionRequest(BaseModel):
    """A person's decision on the approval a thread waits for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    approval_id: str = Field(description="The approval event's approval_id.")


class RejectRequest(DecisionRequest):
    reason: str = Field(default="", description="Why, for the audit trail.")


class TurnEvents(BaseModel):
    """What a resumed turn produced, in order (the last one: answer or error)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    thread: str
    events: tuple[ChatEvent, ...]


def chat_router(
    service: ChatService, keys: KeyLookup, writes: KeyBuckets | None = None
) -> APIRouter:
    """The four chat routes over `service`, each behind a key of the role it needs; the three
    that change something take a token of the key's bucket in `writes` (default: a bucket of
    its own at `WRITE_LIMIT`)."""
    writes = KeyBuckets(WRITE_LIMIT) if writes is None else writes
    router = APIRouter(prefix="/v1/chat", tags=["chat"])
    reader = Depends(caller_with(keys, "viewer", "reading the chat"))
    asker = Depends(limited(caller_with(keys, "viewer", "reading the chat"), writes))
    trader = Depends(limited(caller_with(keys, "trader", "deciding on a trade"), writes))

    @router.post("", response_class=StreamingResponse, responses=STREAM_DOC)
    async def send(body: ChatRequest, caller: Caller = asker) -> StreamingResponse:
        """Send a message; its turn streams back as server-sent events (a viewer may read
        and ask; proposing a trade needs a trader's key)."""
        thread = body.thread if body.thread is not None else new_thread_id()
        events = await run_in_threadpool(
            lambda: service.send(thread, body.text, actor=caller.name, role=caller.role)
        )
        return StreamingResponse(
            event_stream(thread, events), media_type="text/event-stream", headers=SSE_HEADERS
        )

    @router.post("/{thread}/approve", responses=DECISION_DOC)
    async def approve(thread: str, body: DecisionRequest, caller: Caller = trader) -> TurnEvents:
        """Approve the trade the thread waits for: validated again now, then placed."""
        events = await run_in_threadpool(
            lambda: list(
                service.approve(thread, body.approval_id, actor=caller.name, role=caller.role)
            )
        )
        return TurnEvents(thread=thread, events=tuple(events))

    @router.post("/{thread}/reject", responses=DECISION_DOC)
    async def reject(thread: str, body: RejectRequest, caller: Caller = trader) -> TurnEvents:
        """Reject the trade the thread waits for: nothing is traded."""
        events = await run_in_threadpool(
            lambda: list(
                service.reject(
                    thread,
                    body.approval_id,
                    actor=caller.name,
                    role=caller.role,
                    reason=body.reason,
                )
            )
        )
        return TurnEvents(thread=thread, events=tuple(events))

    @router.get("/{thread}", responses=ERRORS)
    async def view(thread: str, caller: Caller = reader) -> ThreadView:
        """The thread's messages and the approval it waits for, if any."""
        return await run_in_threadpool(service.view, thread)

    return router


def sse_frame(event: ChatEvent) -> bytes:
    """One server-sent event: its kind, and the event as one line of JSON."""
    data = event.model_dump_json(exclude_none=True)
    return f"event: {event.kind}\ndata: {data}\n\n".encode()


async def event_stream(
    thread: str, events: Iterator[ChatEvent], *, keepalive_s: float = KEEPALIVE_S
) -> AsyncIterator[bytes]:
    """The frames of `events`, read on a thread of their own and handed to the event loop; a
    comment line every `keepalive_s` without an event (a model thinking, a slow tool)."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Queue[ChatEvent | None] = asyncio.Queue()

    def hand_over(event: ChatEvent | None) -> None:
        with contextlib.suppress(RuntimeError):  # RuntimeError: the server stopped
            loop.call_soon_threadsafe(arrived.put_nowait, event)

    def carry() -> None:
        try:
            for event in events:
                hand_over(event)
        except Exception as exc:  # the engine yields its failures; this is a last resort
            log.exception("the event stream of thread %s failed", thread)
            failed = f"the stream failed ({type(exc).__name__}): ask again"
            hand_over(ChatEvent(kind="error", thread=thread, text=failed))
        finally:
            hand_over(None)

    threading.Thread(target=carry, name=f"sse-{thread}", daemon=True).start()
    while True:
        try:
            event = await asyncio.wait_for(arrived.get(), timeout=keepalive_s)
        except TimeoutError:
            yield KEEPALIVE
            continue
        if event is None:
            return
        yield sse_frame(event)


def new_thread_id() -> str:
    return f"t{time.strftime('%Y%m%d', time.gmtime())}-{secrets.token_hex(3)}"
