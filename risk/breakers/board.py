"""All circuit breakers of one account, run together each cycle, with halts latched in a store.

Latching: any HALTED trip engages the kill switch, whose record is saved in the LockStore under
keys namespaced by account. Every update and status re-reads the store (the store is the truth,
so a resume from another process, such as the CLI, takes effect at the next cycle), and a new
board over the same store (a restart) is still halted. Only `resume` releases it.

Fail closed: a stored record that cannot be read counts as a halt, and is overwritten by one.
"""

from __future__ import annotations

import json
import math

from core.types import (
    BreakerLimits,
    BreakerSnapshot,
    MarketSnapshot,
    TradingState,
    canonical_json,
)
from risk.breakers.base import Breaker, BreakerEvent, Cycle, EventKind, Trip, most_severe
from risk.breakers.drawdown import DrawdownBreaker
from risk.breakers.kill_switch import KillSwitch
from risk.breakers.stale_data import StaleDataBreaker
from risk.store import LockStore


class BreakerBoard:
    """Runs every breaker each cycle and reports the most severe state they demand.

    `events` collects trips, halts and resumes until the caller moves them into the audit
    trace with `drain_events()`. A latched halt is logged once, when it trips; an unlatched
    trip (stale data) is logged on every cycle it holds, since each cycle it is decided anew.
    """

    def __init__(self, store: LockStore, account: str, limits: BreakerLimits) -> None:
        if not isinstance(account, str) or not account.strip():
            raise ValueError("account must be a non-empty string")
        self._store = store
        self._limits = limits
        self._kill_key = f"risk/{account}/kill_switch"
        self._drawdown_key = f"risk/{account}/drawdown"
        self._stale = StaleDataBreaker()
        self._cycle_trips: tuple[Trip, ...] = ()
        self._events: list[BreakerEvent] = []

    @property
    def events(self) -> tuple[BreakerEvent, ...]:
        return tuple(self._events)

    def drain_events(self) -> list[BreakerEvent]:
        """The events since the last drain, oldest first; the board forgets them."""
        drained, self._events = self._events, []
        return drained

    def update(self, equity: float, market: MarketSnapshot, now_ms: int) -> BreakerSnapshot:
        """Run every breaker on this cycle; latch any halt; the resulting trading state."""
        kill = self._load_kill_switch(now_ms)
        drawdown = self._load_drawdown(kill, now_ms)
        cycle = Cycle(equity=equity, market=market, now_ms=now_ms)
        breakers: tuple[Breaker, ...] = (drawdown, self._stale)
        trips = [trip for breaker in breakers if (trip := breaker.evaluate(cycle)) is not None]
        for trip in trips:
            if trip.state is TradingState.HALTED:
                self._latch(kill, trip.breaker, trip.reason, now_ms)
            else:
                self._record(now_ms, "trip", trip.breaker, trip.reason)
        self._cycle_trips = tuple(t for t in trips if t.state is not TradingState.HALTED)
        self._save_drawdown(drawdown)
        return self._snapshot(kill, drawdown)

    def halt(self, reason: str, now_ms: int) -> BreakerSnapshot:
        """The manual kill switch: halt now, until `resume`."""
        _require_reason(reason)
        kill = self._load_kill_switch(now_ms)
        kill.engage(reason, now_ms, by="manual")
        self._save_kill_switch(kill)
        self._record(now_ms, "halt", kill.name, reason)
        return self._snapshot(kill, self._load_drawdown(kill, now_ms))

    def resume(self, reason: str, now_ms: int) -> BreakerSnapshot:
        """Lift a halt. The high-water mark restarts from the last equity seen, so a drawdown
        halt does not re-trip at once: the operator has accepted the loss so far."""
        _require_reason(reason)
        kill = self._load_kill_switch(now_ms)
        drawdown = self._load_drawdown(kill, now_ms)
        kill.release(reason, now_ms, by="manual")
        drawdown.rebase()
        self._save_kill_switch(kill)
        self._save_drawdown(drawdown)
        self._record(now_ms, "resume", kill.name, reason)
        return self._snapshot(kill, drawdown)

    def status(self) -> BreakerSnapshot:
        """The state now: the latch as stored, plus this cycle's unlatched trips."""
        kill = self._load_kill_switch(now_ms=0)
        return self._snapshot(kill, self._load_drawdown(kill, now_ms=0))

    # --- internals ------------------------------------------------------------------------

    def _snapshot(self, kill: KillSwitch, drawdown: DrawdownBreaker) -> BreakerSnapshot:
        trips = [t for t in (kill.trip(), *self._cycle_trips) if t is not None]
        mark = drawdown.high_water_mark
        last = drawdown.last_equity
        return BreakerSnapshot(
            state=most_severe(t.state for t in trips),
            reasons=tuple(t.reason for t in trips),
            high_water_mark=mark or 0.0,
            drawdown=drawdown.drawdown(last) if last is not None else 0.0,
        )

    def _latch(self, kill: KillSwitch, breaker: str, reason: str, now_ms: int) -> None:
        if kill.engaged:
            return  # already halted: the first reason stands, no new event each cycle
        kill.engage(reason, now_ms, by=breaker)
        self._save_kill_switch(kill)
        self._record(now_ms, "trip", breaker, reason)

    def _record(self, now_ms: int, kind: EventKind, breaker: str, reason: str) -> None:
        self._events.append(BreakerEvent(ts=now_ms, kind=kind, breaker=breaker, reason=reason))

    def _load_kill_switch(self, now_ms: int) -> KillSwitch:
        raw = self._store.get(self._kill_key)
        if raw is None:
            return KillSwitch()
        try:
            return KillSwitch.from_record(json.loads(raw))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            kill = KillSwitch()
            self._latch(kill, "store", f"stored halt record unreadable: {exc}", now_ms)
            return kill

    def _save_kill_switch(self, kill: KillSwitch) -> None:
        self._store.put(self._kill_key, canonical_json(kill.to_record()))

    def _load_drawdown(self, kill: KillSwitch, now_ms: int) -> DrawdownBreaker:
        breaker = DrawdownBreaker(self._limits.drawdown_halt)
        raw = self._store.get(self._drawdown_key)
        if raw is None:
            return breaker
        try:
            record = json.loads(raw)
            breaker.high_water_mark = _stored_number(record, "high_water_mark")
            breaker.last_equity = _stored_number(record, "last_equity")
        except ValueError as exc:
            self._latch(kill, "store", f"stored high-water mark unreadable: {exc}", now_ms)
            return DrawdownBreaker(self._limits.drawdown_halt)
        return breaker

    def _save_drawdown(self, drawdown: DrawdownBreaker) -> None:
        record = {"high_water_mark": drawdown.high_water_mark, "last_equity": drawdown.last_equity}
        self._store.put(self._drawdown_key, canonical_json(record))


def _stored_number(record: object, key: str) -> float | None:
    if not isinstance(record, dict):
        raise ValueError("drawdown record is not an object")
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"drawdown record {key}={value!r} is not a finite number")
    return float(value)


def _require_reason(reason: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("a halt or resume needs a reason, for the audit trail")
