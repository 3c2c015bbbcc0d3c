"""The dashboard's routes: the page at `/` (or the sign-in form), sign in and out, each
panel's HTML fragment, the live updates (server-sent events) and the page's own script.

Pages and fragments need a session (`sessions`); the changes the page makes (halt, resume,
chat, approve) are the /v1 routes themselves, called by the page with its session cookie and
the dashboard header (`api.server.auth.session_token`): the same checks, code paths and audit
as any other client's. The router puts its sessions in the app's state while it serves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from api.dashboard.panels import HALT_STATE, PANELS, DashboardData
from api.dashboard.sessions import DashboardSessions, session_caller
from api.server.auth import SESSION_COOKIE, SESSIONS, Caller, KeyLookup
from api.server.errors import ApiError
from api.server.rate_limit import FAILED_SIGN_IN_LIMIT, KeyBuckets
from graphs.chat.desk_base import one_line_reason
from graphs.chat.desk_decisions import DecisionReader
from graphs.chat.service import ChatEngine

HERE: Final = Path(__file__).parent
STATIC: Final = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
POLL_S: Final = 2.0
KEEPALIVE_S: Final = 15.0
SSE_HEADERS: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
NO_STORE: Final = {"Cache-Control": "no-store"}
MAX_KEY: Final = 200
ELSEWHERE: Final = "Sign in and out from this dashboard's own page, not from another site."

log = logging.getLogger(__name__)


def templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def same_origin(request: Request) -> bool:
    """Whether a form was posted from the dashboard's own page: a browser names the page's
    origin; a request naming another site's (a forged sign-in or sign-out) is refused."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def dashboard_router(
    engine: ChatEngine,
    keys: KeyLookup,
    reader: DecisionReader,
    sessions: DashboardSessions | None = None,
    *,
    poll_s: float = POLL_S,
    keepalive_s: float = KEEPALIVE_S,
) -> APIRouter:
    """The dashboard over `engine`'s desk, its decisions read from `reader` (the read routes'
    own, warmed by them), signed in with `keys`; the live updates poll the stores every
    `poll_s` and send a comment after `keepalive_s` without an event. A client address
    that fails to sign in too often (`FAILED_SIGN_IN_LIMIT`) is answered 429 without its key
    being looked up."""
    sessions = sessions or DashboardSessions()
    failures = KeyBuckets(FAILED_SIGN_IN_LIMIT)
    data = DashboardData(engine.desk, reader)
    env = templates()

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        setattr(app.state, SESSIONS, sessions)
        yield

    router = APIRouter(include_in_schema=False, lifespan=lifespan)

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status, NO_STORE)

    def panel_context(panel: str) -> dict[str, Any]:
        readers: dict[str, Callable[[], dict[str, Any]]] = {
            "equity": lambda: {"equity": data.equity()},
            "positions": lambda: {"book": data.portfolio()},
            "decisions": lambda: {"decisions": data.decisions()},
            "breakers": lambda: {"risk": data.risk(), "trips": data.trips()},
            "denials": lambda: {"denials": data.denials()},
            "agents": lambda: {"agents": data.agents()},
            "evals": lambda: {"evals": data.evals()},
            "chat": dict,
            HALT_STATE: lambda: {"halt": data.halt_state()},
        }
        return readers[panel]()

    def panel_html(panel: str) -> Markup:
        """The panel's section, or, when its store cannot be read, the section saying so
        (one panel failing never takes the page down)."""
        try:
            context = panel_context(panel)
        except Exception as error:  # any store's failure: said in its panel, logged
            reason = one_line_reason(error)
            log.warning("dashboard: panel %s was not read: %s", panel, reason)
            return Markup(env.get_template("panels/failed.html").render(panel=panel, reason=reason))
        return Markup(env.get_template(f"panels/{panel}.html").render(**context))

    def page_context(caller: Caller) -> dict[str, Any]:
        return {
            "caller": caller,
            "account": data.account,
            "market": engine.desk.market_spec,
            "sections": [panel_html(panel) for panel in (*PANELS, "chat")],
            "halt_state": panel_html(HALT_STATE),
        }

    async def signed_in(request: Request) -> Caller:
        caller = await session_caller(request, sessions, keys)
        if caller is None:
            raise ApiError(
                401, "no_session", "sign in at / first (the session ended or the key was revoked)"
            )
        return caller

    @router.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> HTMLResponse:
        caller = await session_caller(request, sessions, keys)
        if caller is None:
            return render("login.html")
        context = await anyio.to_thread.run_sync(page_context, caller)
        return render("page.html", **context)

    @router.post("/login", response_model=None)
    async def login(request: Request) -> HTMLResponse | RedirectResponse:
        if not same_origin(request):
            return render("login.html", 403, error=ELSEWHERE)
        address = f"address {request.client.host if request.client else 'unknown'}"
        blocked = failures.blocked_for(address)
        if blocked > 0:
            seconds = max(1, math.ceil(blocked))
            refused = render(
                "login.html",
                429,
                error=f"Too many failed sign-ins from this address: retry in {seconds} s.",
            )
            refused.headers["Retry-After"] = str(seconds)
            return refused
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("key") or [""])[0].strip()
        if not token:
            return render("login.html", 401, error="Give an API key.")
        if len(token) > MAX_KEY:
            failures.wait(address)
            return render("login.html", 401, error="That is not an API key (too long).")
        key = await anyio.to_thread.run_sync(keys.lookup, token)
        if key is None:
            failures.wait(address)
            log.warning("dashboard: a sign-in from %s with an unknown or revoked key", address)
            return render(
                "login.html",
                401,
                error="That API key is unknown or revoked: check it, or create one with "
                "`tradegraph keys create`.",
            )
        answer = RedirectResponse("/", 303)
        answer.set_cookie(
            SESSION_COOKIE,
            sessions.open(token),
            httponly=True,
            samesite="strict",
            path="/",
            secure=request.url.scheme == "https",
        )
        log.info("dashboard: key %r signed in", key.name)
        return answer

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if not same_origin(request):
            return render("login.html", 403, error=ELSEWHERE)
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            sessions.close(session_id)
        answer = RedirectResponse("/", 303)
        answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return answer

    @router.get("/dashboard/panels/{panel}", response_class=HTMLResponse)
    async def fragment(panel: str, request: Request) -> HTMLResponse:
        await signed_in(request)
        if panel not in (*PANELS, "chat", HALT_STATE):
            raise ApiError(404, "unknown_panel", f"no panel {panel!r}: {', '.join(PANELS)}")
        html = await anyio.to_thread.run_sync(panel_html, panel)
        return HTMLResponse(html, headers=NO_STORE)

    @router.get("/dashboard/events")
    async def events(request: Request) -> StreamingResponse:
        await signed_in(request)
        return StreamingResponse(
            refreshes(request), media_type="text/event-stream", headers=SSE_HEADERS
        )

    async def refreshes(request: Request) -> AsyncIterator[bytes]:
        """`event: refresh` with the panels whose data changed since the last poll; a
        comment now and then keeps the stream alive; ends when the session does."""
        last = await versions()
        sent = time.monotonic()
        yield b"retry: 5000\n\n"
        while not await request.is_disconnected():
            await asyncio.sleep(poll_s)
            if await session_caller(request, sessions, keys) is None:
                yield b"event: signed-out\ndata: {}\n\n"
                return
            now = await versions()
            changed = [panel for panel, version in now.items() if last.get(panel) != version]
            last = now
            if changed:
                yield f"event: refresh\ndata: {json.dumps(changed)}\n\n".encode()
                sent = time.monotonic()
            elif time.monotonic() - sent >= keepalive_s:
                yield b": keep-alive\n\n"
                sent = time.monotonic()

    async def versions() -> dict[str, str]:
        try:
            return await anyio.to_thread.run_sync(data.versions)
        except Exception as error:  # a store unreadable for a moment: the next poll retries
            log.warning("dashboard: the panels' versions were not read: %s", one_line_reason(error))
            return {}

    @router.get("/dashboard/static/{name}")
    async def static(name: str) -> FileResponse:
        if name not in STATIC:
            raise ApiError(404, "not_found", f"no file {name!r} here")
        return FileResponse(HERE / "static" / name, media_type=STATIC[name])

    return router
