"""Operations over every account in a store: the global kill switch, the list, the status.

For the CLI (`tradegraph risk halt|resume|status`), usually in another process than the
running boards: each board re-reads the global switch every cycle, so a global halt takes
effect at every account's next cycle.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from core.types import (
    BreakerEvent,
    BreakerLimits,
    BreakerSnapshot,
    BreakerStage,
    TradingState,
    canonical_json,
)
from risk.breakers.board import BreakerBoard
from risk.breakers.keys import GLOBAL, GLOBAL_KILL_KEY, PREFIX, require_reason
from risk.breakers.kill_switch import GlobalKillSwitch
from risk.store import LockStore


class RiskStatus(BaseModel):
    """The global kill switch and every account's breakers, as stored."""

    model_config = ConfigDict(frozen=True)

    global_switch: BreakerSnapshot
    accounts: dict[str, BreakerSnapshot]


def halt_all(store: LockStore, reason: str, now_ms: int, *, flatten: bool = False) -> BreakerEvent:
    """Engage the global kill switch: every account in the store halts at its next cycle,
    until `resume_all`. Already engaged: the first reason stays, a flatten request is added.
    Returns the event, for the caller's log (each board also logs it when it sees it)."""
    require_reason(reason)
    switch = _global_switch(store)[0]
    switch.engage(reason, now_ms, by="manual", flatten=flatten)
    store.put(GLOBAL_KILL_KEY, canonical_json(switch.to_record()))
    shown = reason + (" (flatten)" if flatten else "")
    return BreakerEvent(
        ts=now_ms, kind="halt", breaker=switch.name, stage=BreakerStage.HALT, reason=shown
    )


def resume_all(store: LockStore, reason: str, now_ms: int) -> BreakerEvent:
    """Release the global kill switch (an unreadable record too). Each account's own halts
    stay: they lift only by that account's `BreakerBoard.resume`."""
    require_reason(reason)
    switch = GlobalKillSwitch()
    switch.release(reason, now_ms, by="manual")
    store.put(GLOBAL_KILL_KEY, canonical_json(switch.to_record()))
    return BreakerEvent(
        ts=now_ms, kind="resume", breaker=switch.name, stage=BreakerStage.HALT, reason=reason
    )


def list_accounts(store: LockStore) -> tuple[str, ...]:
    """Every account with a breaker record in the store, sorted."""
    names = {key[len(PREFIX) :].split("/", 1)[0] for key in store.keys(PREFIX)}
    return tuple(sorted(name for name in names if name and name != GLOBAL))


def status_all(store: LockStore, limits: BreakerLimits) -> RiskStatus:
    """The global switch and each account's snapshot (an unreadable record reads as a halt)."""
    switch, problem = _global_switch(store)
    trip = switch.current()
    if problem is not None:
        reasons: tuple[str, ...] = (f"global kill switch record unreadable: {problem}",)
    else:
        reasons = () if trip is None else (trip.reason,)
    halted = problem is not None or switch.engaged
    global_switch = BreakerSnapshot(
        state=TradingState.HALTED if halted else TradingState.ACTIVE,
        reasons=reasons,
        flatten=switch.engaged and switch.flatten,
    )
    accounts = {name: BreakerBoard(store, name, limits).status() for name in list_accounts(store)}
    return RiskStatus(global_switch=global_switch, accounts=accounts)


def _global_switch(store: LockStore) -> tuple[GlobalKillSwitch, str | None]:
    switch = GlobalKillSwitch()
    raw = store.get(GLOBAL_KILL_KEY)
    if raw is None:
        return switch, None
    try:
        switch.load(json.loads(raw))
    except Exception as exc:  # unreadable: reported as a halt; halt_all overwrites it
        switch.clear()
        return switch, str(exc)[:200]
    return switch, None
