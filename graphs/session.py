"""A session: the decision graph driven candle by candle over a market, on a simulated clock.

The feed hands the history one closed candle at a time; the clock is moved to that candle's
close; then one cycle runs. Nothing in the cycle can reach a candle that has not closed yet.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.base import Analyst, LlmUsage
from agents.reflection import Reflector, SummaryReflector
from core.clock import SimulatedClock
from core.ledger import Ledger
from core.market.history import MarketHistory, replay
from core.market.series import CandleSeries
from core.settings import Settings
from core.storage import SqliteStateStore
from core.types import Approved, Denied, MarketInfo, Trace
from graphs.analyst_watch import AnalystUnreachableError, AnalystWatch
from graphs.decision import build_decision_graph
from graphs.nodes import CycleDeps, CycleJournal
from graphs.summary import (
    BreakerTrip,
    MarketSummary,
    MemorySummary,
    PerfSummary,
    RiskSummary,
    RunSummary,
    TraceStoreSummary,
    iso,
)
from memory.session_stores import open_memory
from memory.traces import COLLECTION as TRACES
from risk.breakers import BreakerBoard
from tools.compliance import count_violations
from tools.execution.paper import PaperBroker
from tools.metrics import max_drawdown

Progress = Callable[[int], None]
CycleObserver = Callable[[Trace, float], None]
"""Called after every cycle with its sealed trace and the position held after it."""


@dataclass(frozen=True)
class SessionPlan:
    run_id: str
    info: MarketInfo
    series: CandleSeries
    settings: Settings
    data_dir: Path
    reflector: Reflector | None = None
    """Who writes lessons when a position closes; None: the deterministic summary."""


def run_session(
    plan: SessionPlan,
    analyst: Analyst,
    on_progress: Progress | None = None,
    *,
    started: float | None = None,
    on_cycle: CycleObserver | None = None,
    stop_on_interrupt: bool = False,
) -> RunSummary:
    """Replay `plan.series` through the decision graph with a paper broker; return the summary.

    `started` is the perf_counter reading the timings count from (the process start, from the
    CLI); by default, the call itself. With `stop_on_interrupt`, Ctrl-C ends the replay
    after the cycle in progress (so the interrupted cycle still leaves its trace) and the
    summary is marked `partial`; a second Ctrl-C stops at once. An analyst that cannot be
    reached at all stops the run too: AnalystUnreachableError, carrying the summary.
    """
    started = time.perf_counter() if started is None else started
    settings, info = plan.settings, plan.info
    execution = settings.execution
    ledger = Ledger(
        plan.data_dir / "ledger.sqlite",
        plan.run_id,
        execution.initial_cash,
        execution.quote_currency,
    )
    broker = PaperBroker(ledger, fee_rate=execution.fee_rate, slippage_bps=execution.slippage_bps)
    memory = open_memory(
        plan.data_dir,
        plan.run_id,
        info,
        url=settings.chroma_url,
        embedding=settings.memory.embedding,
        enabled=settings.memory.enabled,
        batch_size=settings.trace_batch_size,
    )
    traces = memory.traces
    board = BreakerBoard(
        SqliteStateStore(plan.data_dir / "risk_state.sqlite"),
        f"replay:{plan.run_id}",
        settings.breakers,
    )
    history = MarketHistory(info, capacity=len(plan.series) + 1)
    clock = SimulatedClock(int(plan.series.ts[0]))
    journal = CycleJournal()
    deps = CycleDeps(
        run_id=plan.run_id,
        history=history,
        clock=clock,
        broker=broker,
        analyst=analyst,
        breakers=board,
        limits=settings.risk,
        breaker_limits=settings.breakers,
        traces=traces,
        situations=memory.situations,
        lessons=memory.lessons,
        reflector=plan.reflector or SummaryReflector(),
        journal=journal,
        recall_k=settings.recall_k,
        lesson_k=settings.memory.lesson_k,
        market_key=memory.market_key,
    )
    reflector = deps.reflector
    graph = build_decision_graph(deps)
    equity: list[float] = []
    denials: Counter[str] = Counter()
    orders = 0
    first_decision = 0.0
    loop_started = time.perf_counter()
    partial = False
    stop = _StopBetweenCycles() if stop_on_interrupt else None
    watch = AnalystWatch(settings.breakers.error_consecutive)
    try:
        for seq, candle in enumerate(replay(plan.series)):
            if stop is not None and stop.requested:
                partial = True
                break
            history.append(candle)
            clock.advance_to(candle.ts + info.period_ms)
            result = graph.invoke({"seq": seq})
            verdict = result["verdict"]
            if isinstance(verdict, Approved):
                orders += 1
            elif isinstance(verdict, Denied):
                denials.update(verdict.codes)
            equity.append(result["trace"].equity)
            if on_cycle is not None:
                on_cycle(result["trace"], broker.portfolio.quantity(info.symbol))
            if seq == 0:
                first_decision = time.perf_counter() - started
            if on_progress is not None:
                on_progress(seq + 1)
            if watch.observe(result["trace"].ts, result["analysis"]) is not None:
                partial = True
                break
    finally:
        if stop is not None:
            stop.restore()
        memory.close()
        for order in broker.pending():
            ledger.cancel(order.client_order_id)
    fills = ledger.fills()
    violations, examples = count_violations(journal.executed)
    state = board.status().state.value
    loop_seconds = time.perf_counter() - loop_started
    wall = time.perf_counter() - started
    summary = RunSummary(
        run_id=plan.run_id,
        partial=partial,
        stopped=watch.stop,
        market=MarketSummary(
            source=info.source,
            symbol=info.symbol,
            timeframe=info.timeframe,
            synthetic=info.synthetic,
            first=iso(int(plan.series.ts[0])),
            last=iso(int(plan.series.ts[-1])),
        ),
        analyst=analyst.name,
        bars=len(plan.series),
        decisions=len(equity),
        orders=orders,
        fills=len(fills),
        denials=dict(sorted(denials.items())),
        equity_start=execution.initial_cash,
        equity_final=equity[-1] if equity else execution.initial_cash,
        total_return=(equity[-1] / execution.initial_cash - 1.0) if equity else 0.0,
        buy_and_hold_return=float(plan.series.close[len(equity) - 1] / plan.series.close[0] - 1.0)
        if equity
        else 0.0,
        max_drawdown=max_drawdown([execution.initial_cash, *equity]),
        fees_paid=sum(f.fee for f in fills),
        trading_state=state,
        risk=RiskSummary(
            violations=violations,
            violation_examples=tuple(examples),
            denials=sum(denials.values()),
            breaker_trips=tuple(
                BreakerTrip(ts=iso(e.ts), kind=e.kind, breaker=e.breaker, reason=e.reason)
                for e in journal.breaker_events
                if e.kind in ("trip", "halt")
            ),
            state=state,
        ),
        traces=traces.count,
        trace_store=TraceStoreSummary(
            path=memory.location,
            collection=TRACES,
            run_id=plan.run_id,
            chain_head=traces.last_hash,
            spooled=traces.spooled,
        ),
        memory=MemorySummary(
            enabled=settings.memory.enabled,
            situations=len(memory.situations),
            lessons_written=len(memory.lessons.written),
            lessons=len(memory.lessons),
        ),
        llm=_rounded(journal.llm_usage + reflector.usage),
        errors=watch.summary(),
        perf=PerfSummary(
            wall_seconds=round(wall, 3),
            decisions_per_second=round(len(equity) / loop_seconds, 1) if loop_seconds else 0.0,
            first_decision_seconds=round(first_decision, 3),
        ),
    )
    ledger.close()
    if watch.stop is not None:
        raise AnalystUnreachableError(watch.stop, summary)
    return summary


class _StopBetweenCycles:
    """Turns the first Ctrl-C into a request to stop before the next cycle (a cycle is never
    cut in the middle, between an order and its trace); the second one interrupts as usual.
    Signals can only be handled on the main thread: elsewhere Ctrl-C keeps its usual effect."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)

    def _on_interrupt(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def _rounded(usage: LlmUsage) -> LlmUsage:
    return usage.model_copy(update={"cost_usd": round(usage.cost_usd, 6)})
