"""The dashboard's sessions: a browser signs in once with an API key and then carries a
random session id in a cookie, because a browser cannot send a key header on a page
navigation or an EventSource.

Sessions live in the server's memory only (a restart signs everyone out) and end after
`IDLE_S` without a request, or at logout. The cookie holds the session id, never the key;
the key's token stays here, in memory, so every request can look the key up afresh: a key
revoked mid-session is refused at once (`api.server.auth.session_token`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import anyio
from fastapi import Request

from api.server.auth import SESSION_COOKIE, Caller, KeyLookup

IDLE_S: Final = 12 * 3600.0
MAX_SESSIONS: Final = 10_000
"""Past this many open sessions the oldest-used is ended: a flood of logins cannot fill memory."""


@dataclass
class _Session:
    token: str = field(repr=False)
    last_used: float


class DashboardSessions:
    """Session id -> the key's token, each ending `idle_s` after its last use; thread-safe."""

    def __init__(self, idle_s: float = IDLE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, _Session] = {}

    def open(self, token: str) -> str:
        """A new session for a key already checked live; its id (32 random bytes) goes in
        the cookie."""
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._drop_idle()
            if len(self._open) >= MAX_SESSIONS:
                oldest = min(self._open, key=lambda sid: self._open[sid].last_used)
                del self._open[oldest]
            self._open[session_id] = _Session(token=token, last_used=self._clock())
        return session_id

    def token_of(self, session_id: str) -> str | None:
        """The token of a live session (its idle time starts again), None for an unknown or
        expired one."""
        now = self._clock()
        with self._lock:
            found = self._open.get(session_id)
            if found is None:
                return None
            if now - found.last_used > self.idle_s:
                del self._open[session_id]
                return None
            found.last_used = now
            return found.token

    def close(self, session_id: str) -> None:
        with self._lock:
            self._open.pop(session_id, None)

    def _drop_idle(self) -> None:
        now = self._clock()
        for session_id in [s for s, v in self._open.items() if now - v.last_used > self.idle_s]:
            del self._open[session_id]


async def session_caller(
    request: Request, sessions: DashboardSessions, keys: KeyLookup
) -> Caller | None:
    """The caller of a dashboard request: its session's key looked up afresh, None without a
    live session or when the key was revoked (the session is ended then)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    token = sessions.token_of(session_id) if session_id else None
    if session_id is None or token is None:
        return None
    key = await anyio.to_thread.run_sync(keys.lookup, token)
    if key is None:
        sessions.close(session_id)
        return None
    return Caller(name=key.name, role=key.role)
