"""All circuit breakers of one account, run together each cycle, their state kept in a store.

Breakers: the global and the account kill switch, then those `registry.account_breakers`
lists (staged drawdown, daily loss, losing streak, error rate, LLM budget, stale data, the audit
trail), each in its own module. The snapshot's state is the most severe any of them demands;
its demands (and reasons) list each one, the kill switches first, then the most severe
breakers, in the registry's order within a severity.

The store is the truth. Every update re-reads each breaker's record (a read is ~2 µs on the
persistent SQLite connection) and reloads a breaker only when its stored text changed, so a
halt or resume from another process (the CLI) takes effect at the next cycle, and a new board
over the same store (a restart) carries on where the old one stopped. The board writes a record
only when it changed: a trip or reset, a new high-water mark, a new UTC day, a trade, an error.

Latching: a halt that must hold until resume (drawdown halt stage, error rate or failures in
a row, equity that is not a number, an unreadable record) engages the account's kill switch;
so does `halt`. The global kill switch (`halt_all`) halts every account. The daily-loss halt
and the LLM budget stop (REDUCING, not a halt) are stored by their own breakers; the
daily-loss halt and a day's budget stop lift by themselves at the next UTC day, a run's budget
stop holds until resume.

Resume (`resume`) releases the account's kill switch and starts every measure afresh, so that
nothing re-trips at once: the high-water mark is forgotten and restarts from the equity of the
next update; the daily loss is measured from that equity too (and a daily halt is lifted); the
error window and the failures in a row are emptied; the losing streak and any cooldown are
forgotten; an LLM budget stop is lifted (the operator has reviewed the account: what happened
before the resume is not held against it twice; a budget still spent is reported again by the
analyst). Resume does not release the global kill switch (`resume_all` does).

Fail closed: a stored record that cannot be read counts as a halt: the account's kill switch is
engaged with the reason (the global one for the global record) and the bad record is
overwritten. If the breakers themselves fail during an update, that cycle is HALTED.
"""

from __future__ import annotations

import json
from typing import TypeVar

from core.types import (
    BreakerEvent,
    BreakerLimits,
    BreakerSnapshot,
    BreakerStage,
    EventKind,
    MarketSnapshot,
    TradingState,
    canonical_json,
)
from risk.breakers.base import Cycle, StatefulBreaker, Trip, most_severe, rank, utc
from risk.breakers.drawdown import DrawdownBreaker
from risk.breakers.error_rate import ErrorRateBreaker
from risk.breakers.keys import check_account, require_reason
from risk.breakers.kill_switch import GlobalKillSwitch, KillSwitch
from risk.breakers.llm_budget import BudgetScope, LlmBudgetBreaker
from risk.breakers.loss_streak import LossStreakBreaker
from risk.breakers.registry import AccountBreaker, Registry, account_breakers
from risk.store import LockStore

_HALTED = TradingState.HALTED
_HALT = BreakerStage.HALT
MANUAL = "manual"
"""Who engages a kill switch by `halt`: an operator."""
_B = TypeVar("_B", bound=AccountBreaker)


class BreakerBoard:
    """Runs every breaker each cycle and reports the most severe state they demand.

    `events` collects trips, resets, halts and resumes until the caller moves them into the
    audit trace with `drain_events()`. A breaker's event is logged when its state changes
    (a stage crossed, a halt tripped or lifted), not on every cycle it holds; stale data is
    decided anew each cycle, so each blocked cycle is one event. A kill switch engaged or
    released by another process is logged when this board first sees it.
    """

    def __init__(
        self,
        store: LockStore,
        account: str,
        limits: BreakerLimits,
        *,
        registry: Registry = account_breakers,
    ) -> None:
        self._store = store
        self.account = check_account(account)
        self.limits = limits
        self._global = GlobalKillSwitch()
        self._kill = KillSwitch()
        # sorted is stable: the registry's order holds within a severity
        self._breakers = tuple(sorted(registry(limits), key=lambda b: -rank(b.severity)))
        self._stored = tuple(b for b in self._breakers if isinstance(b, StatefulBreaker))
        self._measures = tuple(b for b in self._breakers if b.measure)  # evaluated every cycle
        self._stored_measures = tuple(b for b in self._stored if b.measure)  # read every cycle
        self._keys: dict[StatefulBreaker, str] = {  # the kill switches first: see _save_changed
            part: part.key(self.account) for part in (self._global, self._kill, *self._stored)
        }
        self._drawdown = self._one(DrawdownBreaker)
        self._streak = self._one(LossStreakBreaker)
        self._errors = self._one(ErrorRateBreaker)
        self._llm = self._one(LlmBudgetBreaker)
        self._seen: dict[str, str | None] = {}
        self._events: list[BreakerEvent] = []
        self._now_ms = 0

    @property
    def events(self) -> tuple[BreakerEvent, ...]:
        return tuple(self._events)

    def drain_events(self) -> list[BreakerEvent]:
        """The events since the last drain, oldest first; the board forgets them."""
        drained, self._events = self._events, []
        return drained

    # --- each cycle -----------------------------------------------------------------------

    def update(
        self, equity: float, market: MarketSnapshot, now_ms: int, *, unpersisted_traces: int = 0
    ) -> BreakerSnapshot:
        """Run every breaker on this cycle; latch any lasting halt; the resulting state.
        `unpersisted_traces` is the trace store's local spool (see AuditTrailBreaker)."""
        try:
            return self._update(equity, market, now_ms, unpersisted_traces)
        except Exception as exc:  # fail closed: broken breakers or store, nothing new is sent
            reason = f"circuit breakers failed, halted this cycle: {type(exc).__name__}: {exc}"
            trip = Trip("board", _HALTED, reason[:300])
            self._record(now_ms, "trip", trip.breaker, _HALT, trip.reason)
            return BreakerSnapshot(state=_HALTED, reasons=(trip.reason,), demands=(trip.demand(),))

    def record_trade(self, pnl: float, now_ms: int) -> None:
        """A closed round trip's realized PnL (quote currency); losses in a row trip a cooldown."""
        self._now_ms = max(self._now_ms, now_ms)
        self._sync(self._streak, now_ms)
        self._streak.record_trade(pnl, now_ms)
        self._collect(self._streak, now_ms)
        self._save_changed()

    def record_error(self, source: str, detail: str, now_ms: int) -> None:
        """An exchange or LLM failure; too many within the window, or too many of `source` in
        a row, latch a halt at once."""
        _check_source(source)
        self._now_ms = max(self._now_ms, now_ms)
        self._sync(self._errors, now_ms)
        trip = self._errors.record_error(source, str(detail), now_ms)
        if trip is not None:
            self._sync_kill(self._kill, now_ms)
            self._latch(trip, now_ms, logged=False)
        self._save_changed()

    def record_success(self, source: str, now_ms: int) -> None:
        """`source` worked (the analyst answered): its failures no longer count as in a row.
        Written only when there was such a count, so a healthy cycle costs one store read."""
        _check_source(source)
        self._now_ms = max(self._now_ms, now_ms)
        self._sync(self._errors, now_ms)
        self._errors.record_success(source)
        self._save_changed()

    def record_llm_budget(self, scope: BudgetScope, reason: str, now_ms: int) -> None:
        """The analyst's token or dollar budget is spent: no new entries (REDUCING) until the
        next UTC day (scope "day") or until resume (scope "run"). Recording a stop already in
        force changes nothing, so the analyst may report it every cycle."""
        self._now_ms = max(self._now_ms, now_ms)
        self._sync(self._llm, now_ms)
        self._llm.record(scope, reason, now_ms)
        self._collect(self._llm, now_ms)
        self._save_changed()

    # --- manual actions -------------------------------------------------------------------

    def halt(self, reason: str, now_ms: int, *, flatten: bool = False) -> BreakerSnapshot:
        """The account's manual kill switch: halt now, until `resume`; `flatten` asks the cycle
        to close every position (snapshot.flatten) while halted. Halting an account already
        halted keeps the first reason, adds a flatten request, and is logged all the same."""
        require_reason(reason)
        self._now_ms = max(self._now_ms, now_ms)
        self._sync_all(now_ms)
        self._kill.engage(reason, now_ms, by=MANUAL, flatten=flatten)
        shown = reason + (" (flatten)" if flatten else "")
        self._record(now_ms, "halt", self._kill.name, _HALT, shown)
        self._save_changed()
        return self._snapshot()

    def resume(self, reason: str, now_ms: int) -> BreakerSnapshot:
        """Lift the account's halts and start every measure afresh (see the module doc). The
        measures are saved first and the kill switch last, so a crash in between stays halted.
        The global kill switch, if engaged, still halts the account."""
        require_reason(reason)
        self._now_ms = max(self._now_ms, now_ms)
        self._sync_all(now_ms)
        for part in self._stored:
            part.rebase()
        for part in self._stored:
            self._save(part)
        self._kill.release(reason, now_ms, by=MANUAL)
        self._save(self._kill)
        self._record(now_ms, "resume", self._kill.name, _HALT, reason)
        return self._snapshot()

    def status(self) -> BreakerSnapshot:
        """The state now, as stored, plus the stale-data trip of this board's last cycle."""
        self._sync_all(self._now_ms)
        self._save_changed()
        return self._snapshot()

    # --- internals ------------------------------------------------------------------------

    def _update(
        self, equity: float, market: MarketSnapshot, now_ms: int, unpersisted_traces: int
    ) -> BreakerSnapshot:
        self._now_ms = max(self._now_ms, now_ms)
        self._sync_all(now_ms)
        cycle = Cycle(
            equity=equity, market=market, now_ms=now_ms, unpersisted_traces=unpersisted_traces
        )
        for breaker in self._measures:
            trip = breaker.evaluate(cycle)
            logged = self._collect(breaker, now_ms)
            if trip is not None and trip.latch:
                self._latch(trip, now_ms, logged=logged)
        self._save_changed()
        return self._snapshot()

    def _snapshot(self) -> BreakerSnapshot:
        switches = (self._global.current(), self._kill.current())
        demands = (*switches, *(breaker.current() for breaker in self._breakers))
        trips = [trip for trip in demands if trip is not None]
        drawdown = self._drawdown
        equity = drawdown.equity
        return BreakerSnapshot(
            state=most_severe(trip.state for trip in trips),
            reasons=tuple(trip.reason for trip in trips),
            demands=tuple(trip.demand() for trip in trips),
            high_water_mark=drawdown.high_water_mark or 0.0,
            drawdown=drawdown.drawdown(equity) if equity is not None else 0.0,
            size_multiplier=min((trip.size_multiplier for trip in trips), default=1.0),
            flatten=any(trip.flatten and trip.state is _HALTED for trip in trips),
        )

    def _latch(self, trip: Trip, now_ms: int, *, logged: bool) -> None:
        """Engage the kill switch for a lasting halt; an event unless the breaker logged one
        (a switch already engaged keeps its first reason: no new event each cycle)."""
        changed = self._kill.engage(trip.reason, now_ms, by=trip.breaker, flatten=trip.flatten)
        if changed and not logged:
            self._record(now_ms, "trip", trip.breaker, trip.stage, trip.reason)

    def _one(self, kind: type[_B]) -> _B:
        """The registry's breaker of this class, which the board's own methods call."""
        found = [breaker for breaker in self._breakers if isinstance(breaker, kind)]
        if len(found) != 1:
            raise ValueError(f"the breaker registry must list one {kind.__name__}")
        return found[0]

    def _sync_all(self, now_ms: int) -> None:
        self._sync_kill(self._global, now_ms)
        self._sync_kill(self._kill, now_ms)
        for part in self._stored_measures:
            self._sync(part, now_ms)

    def _sync_kill(self, switch: KillSwitch, now_ms: int) -> None:
        """Reload a kill switch; log a change made elsewhere (another process, a restart)."""
        engaged = switch.engaged
        if self._sync(switch, now_ms) and switch.engaged != engaged:
            if switch.engaged:
                kind: EventKind = "halt" if switch.by == MANUAL else "trip"
                reason = f"engaged by {switch.by} at {utc(switch.since_ms)}: {switch.reason}"
            else:
                kind = "resume" if switch.by == MANUAL else "reset"
                reason = f"released by {switch.by} at {utc(switch.since_ms)}: {switch.reason}"
            self._record(now_ms, kind, switch.name, _HALT, f"{reason} (seen in the store)")

    def _sync(self, part: StatefulBreaker, now_ms: int) -> bool:
        """Reload `part` if its stored text changed since this board last read or wrote it.
        True when it was reloaded cleanly. An unreadable record fails closed."""
        key = self._keys[part]
        raw = self._store.get(key)
        if key in self._seen and self._seen[key] == raw:
            return False
        self._seen[key] = raw
        if raw is None:
            part.clear()
            return True
        try:
            part.load(json.loads(raw))
        except Exception as exc:  # any stored text we did not write is a halt
            part.clear()
            part.changed = True  # overwrite the bad record with a clean one
            self._unreadable(part, f"stored {part.name} record unreadable: {exc}"[:300], now_ms)
            return False
        return True

    def _unreadable(self, part: StatefulBreaker, reason: str, now_ms: int) -> None:
        switch = self._global if part is self._global else self._kill
        if switch.engage(reason, now_ms, by="store"):
            self._record(now_ms, "trip", "store", _HALT, reason)

    def _collect(self, breaker: AccountBreaker, now_ms: int) -> bool:
        notices = breaker.take_notices()
        for notice in notices:
            self._record(now_ms, notice.kind, breaker.name, notice.stage, notice.reason)
        return bool(notices)

    def _save_changed(self) -> None:
        for part in self._keys:  # the kill switches first: a halt is durable before the rest
            if part.changed:
                self._save(part)

    def _save(self, part: StatefulBreaker) -> None:
        key = self._keys[part]
        text = canonical_json(part.to_record())
        self._store.put(key, text)
        self._seen[key] = text
        part.changed = False

    def _record(
        self, now_ms: int, kind: EventKind, breaker: str, stage: BreakerStage, reason: str
    ) -> None:
        self._events.append(
            BreakerEvent(
                ts=now_ms,
                kind=kind,
                breaker=breaker,
                stage=stage,
                reason=reason,
                account=self.account,
            )
        )


def _check_source(source: object) -> None:
    if not isinstance(source, str) or not source.strip():
        raise ValueError("an error needs its source, such as 'exchange' or 'llm'")
