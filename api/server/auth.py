"""Who is calling: an API key from `Authorization: Bearer KEY` or `X-API-Key: KEY`, its role.

A route also takes the dashboard's session cookie as the key it was opened with
(`session_token`), so the dashboard's page calls the same /v1 routes, audited as its key's
name; a change (any method but GET/HEAD) made with the cookie must carry the header
`X-Tradegraph-Dashboard: 1`, which another site's page cannot send (CSRF).

Every route and every mounted app needs a live key (`tradegraph keys create`): none, an
unknown or a revoked one is 401 with a body saying how to get one; a key whose role is below
what the request needs is 403. A revocation takes effect at once: a key is looked up on a
worker thread (the lookup reads a database) unless the store remembers it and has seen no
commit since (`ApiKeyStore.remembered`, checked in microseconds on the event loop). The token
is never logged nor echoed: errors name the key only by its name, once it is known.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Final, Protocol

import anyio
from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.server.errors import ApiError, refusal
from core.api_keys import ApiKey
from graphs.chat.contract import Role

RANK: Final[dict[str, int]] = {"viewer": 0, "trader": 1, "admin": 2}
HOW_TO_GET_ONE: Final = (
    "create one with `tradegraph keys create --name NAME --role viewer|trader|admin` and send "
    "it as `Authorization: Bearer KEY` or `X-API-Key: KEY`"
)
CALLER: Final = "caller"
"""The key of `scope["state"]` that holds the `Caller` of a request let through."""
SESSION_COOKIE: Final = "tg_session"
DASHBOARD_HEADER: Final = "X-Tradegraph-Dashboard"
SESSIONS: Final = "dashboard_sessions"
"""The attribute of the app's state holding the dashboard's sessions (set while it serves)."""
READ_METHODS: Final = frozenset({"GET", "HEAD"})

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer KEY`.")
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key: `X-API-Key: KEY`."
)

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
ApiKeyHeaderValue = Annotated[str | None, Security(_api_key)]


class KeyLookup(Protocol):
    """Where keys are checked (`core.api_keys.ApiKeyStore`)."""

    def lookup(self, token: str) -> ApiKey | None: ...

    def remembered(self, token: str) -> ApiKey | None: ...


class SessionLookup(Protocol):
    """Where dashboard sessions are kept (`api.dashboard.sessions.DashboardSessions`)."""

    def token_of(self, session_id: str) -> str | None: ...


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: its key's name (the actor in audit traces) and role."""

    name: str
    role: Role


async def authenticate(keys: KeyLookup, token: str | None) -> Caller:
    """The caller whose key `token` is, or ApiError 401."""
    if not token:
        raise ApiError(401, "missing_key", f"this request needs an API key: {HOW_TO_GET_ONE}")
    key = keys.remembered(token) or await anyio.to_thread.run_sync(keys.lookup, token)
    if key is None:
        raise ApiError(
            401, "invalid_key", f"the API key is unknown or revoked: check it, or {HOW_TO_GET_ONE}"
        )
    return Caller(name=key.name, role=key.role)


def permit(caller: Caller, role: Role, what: str) -> Caller:
    """`caller` if its role is `role` or above, else ApiError 403 saying what it needs."""
    if RANK[caller.role] < RANK[role]:
        raise ApiError(
            403,
            "role_too_low",
            f"key {caller.name!r} is a {caller.role}'s: {what} needs a {role}'s key or above",
        )
    return caller


def token_from(authorization: str | None, api_key: str | None) -> str | None:
    """The token of a request's headers: `X-API-Key`, or the credentials of a Bearer
    `Authorization`."""
    if api_key:
        return api_key.strip()
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return None


def session_token(request: Request) -> str | None:
    """The token of the key the request's dashboard session was opened with; None without a
    live session. A change made with the session needs the dashboard's header, else 403."""
    sessions: SessionLookup | None = getattr(request.app.state, SESSIONS, None)
    session_id = request.cookies.get(SESSION_COOKIE)
    if sessions is None or not session_id:
        return None
    token = sessions.token_of(session_id)
    if (
        token is not None
        and request.method not in READ_METHODS
        and request.headers.get(DASHBOARD_HEADER) != "1"
    ):
        raise ApiError(
            403,
            "dashboard_header_missing",
            f"a change made with a dashboard session needs the header {DASHBOARD_HEADER}: 1 "
            "(the dashboard's page sends it; another site's page cannot)",
        )
    return token


def caller_with(keys: KeyLookup, role: Role, what: str) -> Callable[..., Awaitable[Caller]]:
    """A route dependency: the request's caller, at least `role`. The two header forms are
    declared (so /docs offers to send either) and read as `KeyGuard` reads them; without
    either, the dashboard's session stands for its key (`session_token`). The caller,
    once known (403 too), is left in the request's state for the audit (`api.server.audit`)."""

    async def caller(
        request: Request, bearer: BearerCredentials, api_key: ApiKeyHeaderValue
    ) -> Caller:
        headers = request.headers
        token = token_from(headers.get("authorization"), headers.get("x-api-key"))
        known = await authenticate(keys, token or session_token(request))
        request.scope.setdefault("state", {})[CALLER] = known
        return permit(known, role, what)

    return caller


class KeyGuard:
    """An ASGI app that lets through to `app` only the requests whose key has `role` or
    above, their caller in `scope["state"]["caller"]`; other requests get the error body."""

    def __init__(self, app: ASGIApp, keys: KeyLookup, role: Role, *, path: str) -> None:
        self.app = app
        self.keys = keys
        self.role = role
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            token = token_from(headers.get("authorization"), headers.get("x-api-key"))
            caller = permit(await authenticate(self.keys, token), self.role, self.path)
        except ApiError as refused:
            await refusal(refused, websocket=scope["type"] == "websocket")(scope, receive, send)
            return
        state = {**scope.get("state", {}), CALLER: caller}
        await self.app({**scope, "state": state}, receive, send)
