"""The operator's REST routers served beside the chat, each over the engine's desk (its data
directory, settings and account) and guarded by the API keys.

`service_routers` is the one place `tradegraph serve` learns which routers it serves: each
operator surface (decisions and the account, risk, metrics, ...) adds its router here.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.dashboard.routes import dashboard_router
from api.server.agent_routes import agent_router
from api.server.auth import KeyLookup
from api.server.eval_routes import eval_router
from api.server.health_routes import health_router
from api.server.metrics import metrics_router
from api.server.ops_routes import ops_router
from api.server.rate_limit import WRITE_LIMIT, KeyBuckets, RateLimit
from api.server.risk_routes import risk_router
from graphs.chat.desk_decisions import DecisionReader
from graphs.chat.service import ChatEngine


def service_routers(
    engine: ChatEngine,
    keys: KeyLookup,
    *,
    rate_limit: RateLimit | None = None,
    writes: KeyBuckets | None = None,
) -> list[APIRouter]:
    """The REST routers over `engine`'s data directory, in the order they are included; the
    reads limited per key at `rate_limit` (default: `RateLimit()`), the changes by the
    buckets of `writes` (default: one set at `WRITE_LIMIT`, shared by these routers; pass the
    chat's, `create_app(writes=...)`, for one limit over every change). The read routes and
    the dashboard share one decision index (the read routes build it while the server
    starts)."""
    writes = KeyBuckets(WRITE_LIMIT) if writes is None else writes
    reader = DecisionReader(engine.desk)
    return [
        health_router(engine.desk, reader),
        ops_router(engine.desk, keys, rate_limit, shared=reader),
        risk_router(engine, keys, writes),
        metrics_router(engine, keys),
        agent_router(engine, keys, writes),
        eval_router(engine, keys, writes),
        dashboard_router(engine, keys, reader),
    ]
