"""/healthz and /readyz, without a key (a load balancer or a supervisor asks them).

/healthz says the process answers. /readyz says the stores open: the ledger's accounts and
runs, the risk state and the trace store, each read once; when one does not, 503 in the JSON
error body with the reason, so the caller knows which store to look at. It also waits for the
decision index the server reads while it starts: over 100,000 traces a first decisions list
would otherwise take seconds, so a load balancer sends no traffic before it is fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.server.errors import ApiError
from graphs.chat.desk_base import ChatDesk, one_line_reason
from graphs.chat.desk_decisions import DecisionReader
from graphs.chat.desk_stores import read_risk, storage
from memory.audit_store import reading_store

T = TypeVar("T")


class Health(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Literal["ok"]


class Readiness(BaseModel):
    """Each store, and whether it was there to open (a fresh data directory has none yet)."""

    model_config = ConfigDict(frozen=True)

    status: Literal["ready"]
    ledger: Literal["open", "none yet"]
    risk_state: Literal["open"]
    traces: Literal["open", "none yet"]
    decision_index: Literal["read", "not served"]


def health_router(desk: ChatDesk, index: DecisionReader | None = None) -> APIRouter:
    """`index`: the decision reader the read routes warm while the server starts (None when
    no decision route is served)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """The process answers."""
        return Health(status="ok")

    @router.get(
        "/readyz",
        response_model=Readiness,
        responses={
            503: {
                "description": "a store does not open, or the decision index is still being "
                "read: the body says which and why"
            }
        },
    )
    def readyz() -> Readiness:
        """The stores open, and the decision index was read."""
        ready = Readiness(
            status="ready",
            ledger=_checked("ledger", lambda: _ledger(desk)),
            risk_state=_checked("risk state", lambda: _risk(desk)),
            traces=_checked("trace store", lambda: _traces(desk)),
            decision_index="not served" if index is None else "read",
        )
        if index is not None and not index.warmed.is_set():
            raise ApiError(
                503,
                "not_ready",
                "the decision index is still being read from the trace store (a large store "
                "takes seconds once; the cache in DATA_DIR/cache makes restarts fast): retry",
            )
        return ready

    return router


def _checked(name: str, check: Callable[[], T]) -> T:
    try:
        return check()
    except Exception as error:  # any failure is the reason this server is not ready
        raise ApiError(
            503, "not_ready", f"the {name} does not open: {one_line_reason(error)}"
        ) from None


def _ledger(desk: ChatDesk) -> Literal["open", "none yet"]:
    stores = storage(desk)
    if not stores.has_ledger():
        return "none yet"
    book = stores.accounts()
    try:
        book.check()
    finally:
        book.close()
    return "open"


def _risk(desk: ChatDesk) -> Literal["open"]:
    read_risk(desk, desk.account_name)
    return "open"


def _traces(desk: ChatDesk) -> Literal["open", "none yet"]:
    if not desk.settings.chroma_url and not (desk.root / "chroma").is_dir():
        return "none yet"
    with reading_store(desk.root, desk.settings.chroma_url) as store:
        store.traces.count()
    return "open"
