"""`create_app`: the FastAPI app of the chat over HTTP, over any `ChatService`.

The app holds no business logic: its routes call the service (`chat_routes`), a key guards
every route and mounted app (`auth`), and every refusal is one JSON error body (`errors`).
OpenAPI is served at /openapi.json and /docs without a key: it describes the API and holds
no data. Whoever calls `create_app` owns the service and the key store and closes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Final

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.server.audit import MutationAudit
from api.server.auth import KeyGuard, KeyLookup
from api.server.chat_routes import chat_router
from api.server.errors import install_error_handlers
from api.server.limits import BodyLimit
from api.server.mounts import MountedApp, MountRoots
from api.server.rate_limit import KeyBuckets
from core.operator_audit import OperatorAudit
from graphs.chat.contract import ChatService

TITLE: Final = "tradegraph"
DESCRIPTION: Final = (
    "The tradegraph chat over HTTP: ask about strategies, decisions, risk and the portfolio; "
    "a trade the chat proposes waits for a trader's approval. Every request needs an API key "
    "(`tradegraph keys create --name NAME --role viewer|trader|admin`), sent as "
    "`Authorization: Bearer KEY` or `X-API-Key: KEY`."
)
RESERVED: Final = ("/v1", "/docs", "/redoc", "/openapi.json")
MAX_BODY_BYTES: Final = 64 * 1024
"""A message holds at most 8,000 characters (`graphs.chat.service.MAX_TEXT`): a larger body is
refused (413, the JSON error body) before it is read whole."""


def create_app(
    service: ChatService,
    keys: KeyLookup,
    *,
    mounts: Sequence[MountedApp] = (),
    routers: Sequence[APIRouter] = (),
    audit: OperatorAudit | None = None,
    cors_origins: Sequence[str] = (),
    writes: KeyBuckets | None = None,
    title: str = TITLE,
) -> FastAPI:
    """The app serving `service`'s chat routes, the operator's `routers` (each guards its own
    routes with the keys) and `mounts`, each request's key checked in `keys`; with `audit`,
    every mutating request under /v1 is recorded there (`api.server.audit`). A mount's path
    must start with '/' and not shadow the app's own routes. CORS is closed (no CORS header
    at all) unless `cors_origins` names the origins whose pages may call the API. The chat's
    messages and decisions take a token of the key's bucket in `writes` (`api.server.
    rate_limit`; pass the routers' own for one limit over every change)."""
    for mount in mounts:
        _check_path(mount.path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for mount in mounts:
                if mount.lifespan is not None:
                    await stack.enter_async_context(mount.lifespan())
            yield

    app = FastAPI(
        title=title,
        description=DESCRIPTION,
        version="1",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(MountRoots, paths=[mount.path for mount in mounts])
    if audit is not None:
        app.add_middleware(MutationAudit, audit=audit)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    install_error_handlers(app)
    app.include_router(chat_router(service, keys, writes))
    for router in routers:
        app.include_router(router)
    for mount in mounts:
        app.mount(mount.path, KeyGuard(mount.app, keys, mount.role, path=mount.path))
    return app


def _check_path(path: str) -> None:
    if not path.startswith("/") or path == "/" or path.endswith("/"):
        raise ValueError(f"mount path {path!r}: give one such as '/mcp' (no trailing '/')")
    if any(path == taken or path.startswith(f"{taken}/") for taken in RESERVED):
        raise ValueError(f"mount path {path!r} would shadow the app's own routes")
