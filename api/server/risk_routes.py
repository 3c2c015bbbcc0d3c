"""Risk control over HTTP: the status and the limits (viewer), changing the limits, halting and
resuming (admin).

Each route calls what the CLI and the chat call: the status is the chat's `risk_status` view;
a halt or resume is `api.halts.engage_halt` / `release_halt`, the latched switch of
`tradegraph risk halt|resume` (the served agents' data directories with it). Changed limits
are validated by the settings' own models and kept in the data directory's overlay
(`core.limits_overlay`), which `load_settings` reads: the next run, agent or CLI command
starts with them; a process already running (the served chat itself) keeps the limits it
started with. Every change is noted in the operator audit trail.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.halts import engage_halt, release_halt
from api.notify_halt import tell_halt
from api.server.audit import note_audit
from api.server.auth import Caller, KeyLookup, caller_with
from api.server.errors import ApiError
from api.server.rate_limit import WRITE_LIMIT, KeyBuckets, limited
from core.limits_overlay import (
    LimitsInvalidError,
    merged,
    overlaid,
    read_overlay,
    write_overlay,
)
from core.settings import Settings, with_changed_limits
from graphs.chat.desk_tools_account import AccountQuery, RiskStatusView, risk_status
from graphs.chat.service import ChatEngine

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": what}
    for status, what in {
        400: "a value the route cannot use",
        401: "no API key, or an unknown or revoked one",
        403: "the key's role is too low",
        422: "the body does not validate",
    }.items()
}
_BODY = ConfigDict(frozen=True, extra="forbid")


class Limits(BaseModel):
    """The limits in force for the next run: the settings with the admin's changes over them."""

    model_config = ConfigDict(frozen=True)

    risk: dict[str, Any]
    breakers: dict[str, Any]


class LimitsChange(BaseModel):
    """Only the limits to change, by section: `{"risk": {"max_order_notional": 5000}}`."""

    model_config = _BODY

    risk: dict[str, Any] = Field(default_factory=dict)
    breakers: dict[str, Any] = Field(default_factory=dict)


class HaltRequest(BaseModel):
    model_config = _BODY

    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")
    account: str | None = Field(default=None, min_length=1, max_length=80)
    """None: the global kill switch, every account."""
    flatten: bool = False


class ResumeRequest(BaseModel):
    model_config = _BODY

    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")
    account: str | None = Field(default=None, min_length=1, max_length=80)


class HaltAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    halted: str
    """What halted: an account, or every account (the global switch)."""
    logged_only: bool
    """The state store could not be written: the halt is on the halt log alone."""
    cancelled_orders: int | None
    problems: list[str]


class ResumeAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    resumed: str
    state: str
    """The account's state after the resume: another breaker may still hold it."""


def risk_router(engine: ChatEngine, keys: KeyLookup, writes: KeyBuckets | None = None) -> APIRouter:
    """/v1/risk over `engine`'s data directory. A limits change or a resume takes a token of
    the key's bucket in `writes`; a halt never waits for one: the kill switch must engage
    whenever an admin asks (it latches, so asking twice changes nothing)."""
    writes = KeyBuckets(WRITE_LIMIT) if writes is None else writes
    router = APIRouter(prefix="/v1/risk", tags=["risk"], responses=ERRORS)
    viewer = Depends(caller_with(keys, "viewer", "reading the risk state"))
    what = "changing limits, halting or resuming"
    admin = Depends(caller_with(keys, "admin", what))
    changing = Depends(limited(caller_with(keys, "admin", what), writes))
    writing = threading.Lock()  # one limits change at a time: each merges the one before

    def current() -> Settings:
        return with_changed_limits(engine.desk.settings)

    @router.get("/status")
    async def status(
        caller: Caller = viewer,
        account: Annotated[str | None, Query(max_length=80)] = None,
    ) -> RiskStatusView:
        """The account's state, breakers, global kill switch, limits and headroom (default:
        the served chat's account), as `tradegraph risk status` and the chat read them."""

        def read() -> RiskStatusView:
            desk = dataclasses.replace(engine.desk, settings=current())
            try:
                return risk_status(desk, AccountQuery(account=account))
            except ValueError as exc:
                raise ApiError(400, "bad_account", str(exc)) from None

        return await anyio.to_thread.run_sync(read)

    @router.get("/limits")
    async def limits(caller: Caller = viewer) -> Limits:
        """The limits the next run starts with."""
        return _limits(await anyio.to_thread.run_sync(current))

    @router.put("/limits")
    async def change_limits(
        change: LimitsChange, request: Request, caller: Caller = changing
    ) -> Limits:
        """Change some limits (admin): validated as the settings are, kept in the data
        directory for the next run, each change noted in the operator audit trail."""
        wanted = change.model_dump()

        def write() -> Limits:
            with writing:
                before = current()
                root = engine.desk.root
                try:
                    risk, breakers = overlaid(before.risk, before.breakers, wanted)
                except LimitsInvalidError as exc:
                    raise ApiError(422, "invalid_limit", str(exc)) from None
                write_overlay(root, merged(read_overlay(root), wanted))
                after = before.model_copy(update={"risk": risk, "breakers": breakers})
                note_audit(request, changes=_changes(_limits(before), _limits(after)))
                return _limits(after)

        return await anyio.to_thread.run_sync(write)

    @router.post("/halt")
    async def halt(body: HaltRequest, request: Request, caller: Caller = admin) -> HaltAnswer:
        """Engage the kill switch (admin), as `tradegraph risk halt`: it latches until a
        resume; pending orders are cancelled; running sessions stop at their next cycle; the
        `[notify]` channels are told (a channel that fails never stands in its way)."""
        reason = _by(caller, body.reason)
        note_audit(request, **body.model_dump())

        def engage() -> HaltAnswer:
            settings = current()
            outcome = engage_halt(settings, body.account, reason, body.flatten)
            unnotified = tell_halt(settings, body.account, reason)
            told = () if unnotified is None else (f"halt not notified: {unnotified}",)
            return HaltAnswer(
                halted=outcome.scope,
                logged_only=outcome.logged_only,
                cancelled_orders=outcome.cancelled,
                problems=[*outcome.problems, *told],
            )

        return await anyio.to_thread.run_sync(engage)

    @router.post("/resume")
    async def resume(
        body: ResumeRequest, request: Request, caller: Caller = changing
    ) -> ResumeAnswer:
        """Release the kill switch (admin), as `tradegraph risk resume`."""
        note_audit(request, **body.model_dump())

        def release() -> str:
            settings, reason = current(), _by(caller, body.reason)
            return release_halt(settings, body.account, reason)

        state = await anyio.to_thread.run_sync(release)
        scope = "the global kill switch" if body.account is None else f"account {body.account}"
        return ResumeAnswer(resumed=scope, state=state)

    return router


def _by(caller: Caller, reason: str) -> str:
    """The reason as the halt log keeps it: who said it over HTTP, then what they said."""
    return f"{reason.strip()} (by key {caller.name!r} over HTTP)"


def _limits(settings: Settings) -> Limits:
    return Limits(
        risk=settings.risk.model_dump(mode="json"),
        breakers=settings.breakers.model_dump(mode="json"),
    )


def _changes(before: Limits, after: Limits) -> dict[str, dict[str, Any]]:
    """Each changed limit, `section.name`, with its old and new value."""
    changes: dict[str, dict[str, Any]] = {}
    for section in ("risk", "breakers"):
        old, new = getattr(before, section), getattr(after, section)
        for name in new:
            if old.get(name) != new[name]:
                changes[f"{section}.{name}"] = {"old": old.get(name), "new": new[name]}
    return changes
