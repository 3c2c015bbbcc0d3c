"""Every mutating request under /v1 written to the operator audit trail, with its key's name.

`MutationAudit` wraps the whole app (`create_app(audit=...)`), so a route needs nothing to be
audited: a POST, PUT, PATCH or DELETE under /v1 whose caller was identified by
`caller_with` (which leaves the `Caller` in the request's state) is recorded with its status,
403s included, before its answer starts. Requests without a valid key (401) are not: nobody
acted. Chat turns (POST /v1/chat) are not either: the chat traces them itself.

A route says what it changed with `note_audit(request, key=value, ...)`; the values land in the
record's `detail` (JSON values only; never a secret). The record is written before the response
starts; if it cannot be written (a full disk), the failure goes to the server's log and the
answer is sent all the same: an audit failure must never block a halt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

import anyio
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.server.auth import CALLER, Caller
from core.errors import UserError
from core.operator_audit import OperatorAction, OperatorAudit

MUTATING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNAUDITED: Final = frozenset({("POST", "/v1/chat")})
"""Mutating requests traced elsewhere: a chat turn is in the chat's own trace."""
AUDIT_DETAIL: Final = "audit_detail"
"""The key of the request's state holding what `note_audit` was told."""

log = logging.getLogger(__name__)


def audited(method: str, path: str) -> bool:
    """Whether a request with `method` on `path` goes to the operator audit trail."""
    path = path.rstrip("/") or "/"
    return (
        method.upper() in MUTATING
        and (path == "/v1" or path.startswith("/v1/"))
        and (method.upper(), path) not in UNAUDITED
    )


def note_audit(request: Request, **detail: Any) -> None:
    """Add `detail` (JSON values) to the audit record of `request`, e.g. old and new values."""
    noted = request.scope.setdefault("state", {}).setdefault(AUDIT_DETAIL, {})
    noted.update(detail)


class MutationAudit:
    """ASGI middleware recording each audited request of an identified caller in `audit`."""

    def __init__(
        self,
        app: ASGIApp,
        audit: OperatorAudit,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.app = app
        self.audit = audit
        self.clock_ms = clock_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not audited(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})

        async def recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._record(scope, state, int(message["status"]))
            await send(message)

        await self.app(scope, receive, recorded)

    async def _record(self, scope: Scope, state: dict[str, Any], status: int) -> None:
        caller = state.get(CALLER)
        if not isinstance(caller, Caller):
            return
        action = OperatorAction(
            ts_ms=self.clock_ms(),
            actor=caller.name,
            role=caller.role,
            method=scope["method"],
            path=scope["path"],
            status=status,
            detail=dict(state.get(AUDIT_DETAIL, {})),
        )
        try:
            await anyio.to_thread.run_sync(self.audit.record, action)
        except (UserError, OSError) as exc:
            log.error(
                "the operator audit trail could not record %s %s: %s",
                action.method,
                action.path,
                exc,
            )
