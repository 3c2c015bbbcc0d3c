"""An agent: a trading node on an account, woken by a scheduler at each candle close.

The node, its broker, breakers, memory and validator are the ones `run` and `eval` drive
(`graphs.session.open_session`); only the driver differs. Each wake-up is a checkpointed
graph (`graphs.agent.ticks`); the agent's pulse (`graphs.agent.pulse`) is rewritten at every
decision and heartbeat. Ticks are serialized by the scheduler (one at a time per agent) and
by a lock here, so a tick that runs long makes the next one missed, never concurrent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from core.candle_schedule import CandleSchedule
from core.notifications import stalled_notice
from core.types import Candle, Trace, TraceEvent
from graphs.agent.pulse import AgentPulse, AgentSpec, LastDecision, Phase, write_pulse
from graphs.agent.ticks import TickState, build_tick_graph, thread
from graphs.session import OpenSession


class AgentMarket(Protocol):
    def closed_at(self, close_ms: int) -> dict[str, Candle]:
        """The candles that close at `close_ms`, by symbol (waiting a bounded time for them)."""
        ...

    def closed_between(self, after_ms: int, before_ms: int) -> list[tuple[int, dict[str, Candle]]]:
        """The closes strictly between, with their candles: history for a late wake-up."""
        ...


@dataclass(frozen=True)
class AgentIdentity:
    name: str
    spec: AgentSpec
    root: Path
    run_id: str
    heartbeat_seconds: float
    origin_wall_ms: int | None = None
    first_close_ms: int | None = None
    final_close_ms: int | None = None
    """A played market's first and last closes: the agent finishes after the last."""


class Agent:
    def __init__(
        self,
        identity: AgentIdentity,
        session: OpenSession,
        schedule: CandleSchedule,
        market: AgentMarket,
        checkpointer: Any,
        *,
        on_decision: Callable[[Trace], None] | None = None,
        now_ms: Callable[[], float] = lambda: time.time_ns() / 1e6,
        history_until_ms: int | None = None,
    ) -> None:
        self.identity = identity
        self.session = session
        self.schedule = schedule
        self.market = market
        self._now = now_ms
        self.history_until_ms = history_until_ms
        """The last close whose candles the node's histories hold (its warm-up's, at first)."""
        self._on_decision = on_decision
        self._lock = threading.Lock()
        self._pulse_lock = threading.Lock()
        self._candles: dict[str, Candle] = {}
        self._symbols = [info.symbol for info in session.ports.feed.markets]
        self.graph = build_tick_graph(self, self._symbols, checkpointer)
        self._config = thread(identity.name)
        self.phase: Phase = "starting"
        self.message = ""
        self.stalled = False
        """No candle at the last wake-up: the notifier heard of it once, when it began."""
        self.finished = threading.Event()
        self._last: LastDecision | None = None
        self._started_ms = int(self._now())
        values = self.graph.get_state(self._config).values
        self.last_close_ms: int | None = values.get("last_close_ms")
        self.decisions: int = values.get("decisions", 0)
        self.missed: int = values.get("missed", 0)

    # -- what the scheduler calls ----------------------------------------------------------------

    def recover(self) -> None:
        """Before the first wake-up: finish a wake-up a crash interrupted, if its candle is still
        the latest (restart mid-candle), else close it as missed."""
        snapshot = self.graph.get_state(self._config)
        if not snapshot.next:
            return
        close = int(snapshot.values["close_ms"])
        with self._lock:
            if self.schedule.is_current(close, self._now()):
                self._note("resumed", f"finishing the {_hhmm(close)} wake-up a stop interrupted")
                self._candles = self.market.closed_at(close)  # history already holds them
                self.session.ports.clock.advance_to(close)
                self._finish(self.graph.invoke(None, self._config))
            else:
                self.missed += 1
                self.graph.update_state(
                    self._config,
                    {"last_close_ms": close, "missed": self.missed},
                    as_node="done",
                )
                self.last_close_ms = close
                self._note("missed", f"the {_hhmm(close)} wake-up was interrupted: not traded late")

    def tick(self) -> None:
        """Serve the candle close that is due now (skipped if it was served already)."""
        if self.finished.is_set() or not self._lock.acquire(blocking=False):
            return
        try:
            close = self.schedule.due_close(self._now())
            first = self.identity.first_close_ms
            if (self.last_close_ms is not None and close <= self.last_close_ms) or (
                first is not None and close < first
            ):
                return
            final = self.identity.final_close_ms
            if final is not None and close > final:
                close = final
                if self.last_close_ms is not None and close <= self.last_close_ms:
                    self._end("finished", "the played market has no more candles")
                    return
            self._finish(self.graph.invoke({"close_ms": close}, self._config))
            if final is not None and close >= final:
                self._end("finished", "the played market has no more candles")
        finally:
            self._lock.release()

    def next_wake_ms(self) -> int | None:
        """When the agent wakes next (wall time), None once it ended."""
        if self.finished.is_set():
            return None
        close = self.schedule.next_close(self._now())
        first = self.identity.first_close_ms
        if first is not None and close < first:
            close = first
        return int(self.schedule.wake_at(close))

    def heartbeat(self) -> None:
        self.write_pulse()

    def stop(self) -> None:
        self._end("stopped", "stopped by a signal")

    def note_skipped(self, why: str) -> None:
        """The scheduler did not wake the agent on time (`why`: still deciding, or late): the
        close is counted as missed by the next wake-up, which says so in its trace."""
        self.message = f"a wake-up was skipped: {why}"

    # -- the tick graph's steps ------------------------------------------------------------------

    def wake(self, state: TickState) -> dict[str, Any]:
        close = int(state["close_ms"])
        missed = self.schedule.missed_between(state.get("last_close_ms"), close)
        journal = self.session.ports.journal
        if missed:
            journal.events.append(
                TraceEvent(
                    ts=close,
                    kind="missed_ticks",
                    detail=f"{len(missed)} candle close(s) from {_hhmm(missed[0])} to "
                    f"{_hhmm(missed[-1])} passed while the agent was down or behind: not traded",
                )
            )
        known = self.history_until_ms
        if known is not None and close - known > self.schedule.period_ms:
            for missed_close, candles in self.market.closed_between(known, close):
                self.session.node.advance(missed_close, candles)  # history, never decided on
        self._candles = self.market.closed_at(close)
        self.session.node.advance(close, self._candles)
        self.history_until_ms = close
        was_stalled, self.stalled = self.stalled, not self._candles
        if not self._candles:
            if not was_stalled:
                self.session.ports.notifier.notify(
                    stalled_notice(
                        self.identity.name,
                        self.session.account,
                        f"no candle closed at {_hhmm(close)}",
                        int(self._now()),
                    )
                )
            self.message = f"stalled: no candle closed at {_hhmm(close)}"
        elif self.message.startswith("stalled"):
            self.message = ""
        return {"missed": state.get("missed", 0) + len(missed)}

    def decide(self, symbol: str, state: TickState) -> dict[str, Any]:
        candle = self._candles.get(symbol)
        if candle is None:
            history = self.session.node.histories[symbol]
            if not getattr(self.market, "decides_when_silent", False) or not len(history):
                return {}  # a gap in a played recording: no cycle, as in a replay
            candle = history.last()  # the exchange said nothing: decide on what is known,
            # which the data checks find stale, so the stale-data breaker holds entries back
        self.session.node.decide(symbol, candle, on_cycle=self._decided)
        self.session.node.count_cycles()
        return {"decisions": state.get("decisions", 0) + 1}

    def done(self, state: TickState) -> dict[str, Any]:
        return {"last_close_ms": state["close_ms"]}

    # -- the pulse -------------------------------------------------------------------------------

    def write_pulse(self) -> None:
        with self._pulse_lock:
            ports = self.session.ports
            ended = self.phase in ("stopped", "finished", "failed")
            pulse = AgentPulse(
                name=self.identity.name,
                spec=self.identity.spec,
                pid=_pid(),
                phase=self.phase,
                run_id=self.identity.run_id,
                started_ms=self._started_ms,
                heartbeat_ms=int(self._now()),
                heartbeat_seconds=self.identity.heartbeat_seconds,
                origin_wall_ms=self.identity.origin_wall_ms,
                next_wake_ms=None if ended else self.next_wake_ms(),
                last_close_ms=self.last_close_ms,
                decisions=self.decisions,
                missed=self.missed,
                last=self._last,
                equity=round(ports.broker.portfolio.equity(self.session.node.book.marks), 2),
                positions={
                    s: p.quantity for s, p in ports.broker.portfolio.positions.items() if p.quantity
                },
                message=self.message,
            )
            write_pulse(self.identity.root, pulse)

    # -- inside ----------------------------------------------------------------------------------

    def _decided(self, trace: Trace, position: float) -> None:
        self._last = LastDecision(
            ts=trace.ts,
            symbol=trace.symbol,
            action=trace.proposal.action.value,
            verdict=trace.verdict.value,
        )
        if self._on_decision is not None:
            self._on_decision(trace)

    def _finish(self, values: dict[str, Any]) -> None:
        self.last_close_ms = values.get("last_close_ms", self.last_close_ms)
        self.decisions = values.get("decisions", self.decisions)
        self.missed = values.get("missed", self.missed)
        if self.phase == "starting":
            self.phase = "running"
        self.write_pulse()

    def _end(self, phase: Phase, message: str) -> None:
        self.phase, self.message = phase, message
        self.finished.set()

    def _note(self, kind: str, detail: str) -> None:
        self.session.ports.journal.events.append(
            TraceEvent(ts=int(self.schedule.market_ms(self._now())), kind=kind, detail=detail)
        )


def _hhmm(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _pid() -> int:
    import os

    return os.getpid()
