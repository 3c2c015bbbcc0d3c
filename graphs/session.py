"""A replay session: a trading node on a simulated clock with a paper broker, over one or
several markets, against an account.

Without an account name the session trades an account of its own (`replay:RUN_ID`); with one,
it carries on that account's ledger, positions, resting stops and breaker state. A session
that was killed is resumed by the same call with `resume=True`: what it wrote after its start
is rolled back (paper only), its breaker records are set back to how they were when it
started, and its cycles are replayed up to its last sealed trace, each checked against that
trace (a resumed run decides exactly as the first one did, or stops saying so); from there it
carries on. So no order is doubled, no fill lost, and no order is left without its trace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.base import Analyst, LlmUsage
from agents.reflection import Reflector, SummaryReflector
from core.accounts import replay_account
from core.backends import storage_for
from core.clock import LiveClock, SimulatedClock
from core.errors import BrokerError, UserError
from core.market.series import CandleSeries
from core.notifications import NoNotifier, Notifier
from core.risk_state import RiskState, check_latches
from core.settings import Settings
from core.types import MarketInfo, Trace
from core.writer_lock import writer_lock
from graphs.analyst_watch import AnalystUnreachableError, AnalystWatch
from graphs.brokers import open_broker
from graphs.cycle_ports import Broker, CycleJournal
from graphs.feeds import MarketFeed, ReplayFeed
from graphs.node import (
    CycleObserver,
    NodeConfig,
    NodeOutcome,
    NodePorts,
    Progress,
    SteppedClock,
    TradingNode,
)
from graphs.run_summary import summarize
from graphs.session_resume import recorded_analysis, sealed_traces, start_or_resume
from graphs.stopping import StopBetweenCycles
from graphs.summary import RunSummary
from memory.session_stores import WriterChoice, open_memory
from risk.breakers import BreakerBoard
from tools.trades import RoundTrips

__all__ = [
    "CycleObserver",
    "DrivenPorts",
    "OpenSession",
    "Progress",
    "SessionPlan",
    "open_session",
    "run_session",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionPlan:
    run_id: str
    info: MarketInfo
    series: CandleSeries
    settings: Settings
    data_dir: Path
    reflector: Reflector | None = None
    """Who writes lessons when a position closes; None: the deterministic summary."""
    more_markets: tuple[tuple[MarketInfo, CandleSeries], ...] = ()
    """A portfolio: the other markets the node trades, at the same timeframe."""
    account: str | None = None
    """The account traded; None: one of the run's own, `replay:RUN_ID`."""
    request: dict[str, Any] = field(default_factory=dict)
    """What the driver was asked (kept with the run, so that `--resume` can rebuild it)."""
    broker: str = "paper"
    """paper, sandbox or live (the last only with both confirmations: `core.execution_mode`)."""
    live_confirmed: bool = False
    """The command carried --i-understand-live-trading."""
    live: bool = False
    """The markets stream from an exchange as candles close (their series are the warm-up);
    otherwise the series are replayed on a simulated clock."""
    scheduled: bool = False
    """An agent drives the node as candles close (`graphs.agent`): like a live run, a killed
    one is not replayed; the next start on its account carries on from the checkpoint."""

    @property
    def markets(self) -> tuple[tuple[MarketInfo, CandleSeries], ...]:
        return ((self.info, self.series), *self.more_markets)

    @property
    def account_name(self) -> str:
        return self.account or replay_account(self.run_id)


def run_session(
    plan: SessionPlan,
    analyst: Analyst,
    on_progress: Progress | None = None,
    *,
    started: float | None = None,
    on_cycle: CycleObserver | None = None,
    stop_on_interrupt: bool = False,
    resume: bool = False,
    notifier: Notifier | None = None,
) -> RunSummary:
    """Replay the plan's markets through a trading node with a paper broker; the summary.

    `started` is the perf_counter reading the timings count from (the process start, from the
    CLI); by default, the call itself. With `stop_on_interrupt`, Ctrl-C or SIGTERM ends the
    replay after the cycle in progress and the summary is marked `partial`; a second signal
    stops at once. With `resume`, the run `plan.run_id` that was killed carries on. An
    analyst that cannot be reached at all stops the run too: AnalystUnreachableError, carrying
    the summary. `notifier` is told of fills, breaker trips and halts (by default, nobody).
    """
    started = time.perf_counter() if started is None else started
    if resume and plan.live:
        raise UserError(
            f"run {plan.run_id} traded a live market: it is not replayed; start a new run on "
            "its account, which reconciles with the exchange first"
        )
    with writer_lock(plan.data_dir):
        return _run_session(
            plan, analyst, on_progress, started, on_cycle, stop_on_interrupt, resume, notifier
        )


def _run_session(
    plan: SessionPlan,
    analyst: Analyst,
    on_progress: Progress | None,
    started: float,
    on_cycle: CycleObserver | None,
    stop_on_interrupt: bool,
    resume: bool,
    notifier: Notifier | None,
) -> RunSummary:
    with open_session(
        plan, analyst, stop_on_interrupt=stop_on_interrupt, resume=resume, notifier=notifier
    ) as run:
        run.outcome = run.node.run(
            on_progress=on_progress,
            on_cycle=on_cycle,
            stop=run.stop,
            started=started,
            watch=run.watch,
        )
    try:
        summary = summarize(
            plan.run_id,
            analyst,
            run.node,
            run.outcome,
            equity_start=run.equity_start,
            started=started,
            usage=_rounded(run.ports.journal.llm_usage + run.ports.reflector.usage),
            signal_name=run.stop.signal_name if run.stop is not None else None,
            account=run.account,
            resumed_from=len(run.sealed) if resume else None,
            watch=run.watch,
        )
    finally:
        run.close()
    if run.watch.stop is not None:
        raise AnalystUnreachableError(run.watch.stop, summary)
    return summary


@dataclass(frozen=True)
class DrivenPorts:
    """What a scheduled agent plugs in instead of a replay's feed and clock."""

    feed: MarketFeed | None
    """A played market; None: the plan's live exchange feed."""
    clock: SteppedClock
    warmup: tuple[tuple[MarketInfo, CandleSeries], ...]
    """Candles closed before the agent (re)started: history, no decision made on them."""
    writer: WriterChoice = "process"
    """Who writes the traces: a writer process, or this one (agents sharing a process)."""


@dataclass
class OpenSession:
    """A session's node with its ports open, for a driver to drive (`TradingNode.run`, or a
    scheduler one close at a time). Leaving `open_session` closes the memory (sealing the
    chain), cancels orders left open and marks the run; `close` then closes the ledger."""

    node: TradingNode
    ports: NodePorts
    account: str
    equity_start: float
    sealed: list[Trace]
    stop: StopBetweenCycles | None
    watch: AnalystWatch
    outcome: NodeOutcome | None = None
    finished: bool | None = None
    """Whether the run ended complete; None: by its outcome (a whole, uninterrupted replay)."""

    def close(self) -> None:
        self.ports.ledger.close()
        self.ports.accounts.close()


@contextmanager
def open_session(
    plan: SessionPlan,
    analyst: Analyst,
    *,
    stop_on_interrupt: bool,
    resume: bool,
    driven: DrivenPorts | None = None,
    notifier: Notifier | None = None,
) -> Iterator[OpenSession]:
    """The plan's node on its account, ledger, memory and broker (held under the data
    directory's writer lock by the caller). `driven` replaces the feed, clock and warm-up of
    a replay or live run: a scheduled agent's."""
    settings, root = plan.settings, plan.data_dir
    storage = storage_for(settings, root)
    breaker_store = RiskState(root, storage.state_store("risk_state"))
    check_latches(breaker_store)
    execution = settings.execution
    accounts = storage.accounts()
    account = accounts.open_account(
        plan.account_name, execution.initial_cash, execution.quote_currency, _now_ms()
    )
    start_or_resume(plan, accounts, breaker_store, resume)
    ledger = storage.ledger(
        account.name,
        account.initial_cash,
        account.quote,
        run_id=plan.run_id,
    )
    if resume:
        ledger.discard_run(plan.run_id)
    equity_start = ledger.portfolio.equity({})
    streaming = plan.live or driven is not None
    memory = open_memory(
        root,
        plan.run_id,
        [info for info, _ in plan.markets],
        url=settings.chroma_url,
        embedding=settings.memory.embedding,
        enabled=settings.memory.enabled,
        batch_size=1 if streaming else settings.trace_batch_size,
        writer=driven.writer if driven else "process" if plan.live else settings.memory.writer,
        cycles=None if streaming else sum(len(series) for _, series in plan.markets),
    )
    sealed = sealed_traces(memory.traces, plan.run_id) if resume else []
    memory.traces.catch_up(sealed)
    stop = StopBetweenCycles() if stop_on_interrupt else None
    journal = CycleJournal(round_trips=RoundTrips.continuing(ledger.fills()))
    board = BreakerBoard(breaker_store, account.name, settings.breakers)
    symbols = [info.symbol for info, _ in plan.markets]
    try:
        broker = open_broker(
            plan.broker, settings, ledger, board, journal,
            symbols=symbols, live_confirmed=plan.live_confirmed,
        )  # fmt: skip
    except BaseException:
        memory.close()
        accounts.set_status(plan.run_id, "interrupted")
        raise
    feed: MarketFeed
    clock: SteppedClock
    if driven is not None and driven.feed is not None:
        feed, clock = driven.feed, driven.clock
    elif plan.live:
        from graphs.live_market import open_live_feed

        feed, clock = open_live_feed(plan, journal.events.append, stop), LiveClock()
    else:
        feed, clock = ReplayFeed(plan.markets), SimulatedClock(int(plan.series.ts[0]))
    ports = NodePorts(
        feed=feed,
        clock=clock,
        ledger=ledger,
        broker=broker,
        board=board,
        memory=memory,
        analyst=analyst,
        accounts=accounts,
        reflector=plan.reflector or SummaryReflector(),
        journal=journal,
        replayed=recorded_analysis(sealed, analyst),
        warmup=driven.warmup if driven is not None else plan.markets if plan.live else (),
        order_id_scope=account.name if plan.broker != "paper" or driven is not None else "",
        notifier=notifier or NoNotifier(),
    )
    node = TradingNode(NodeConfig(plan.run_id, account.name, settings, root), ports)
    session = OpenSession(
        node, ports, account.name, equity_start, sealed, stop, AnalystWatch(
            settings.breakers.error_consecutive
        )
    )  # fmt: skip
    try:
        yield session
    finally:
        if stop is not None:
            stop.restore()
        memory.close()
        _cancel_left_open(ports.broker)
        finished = session.finished
        if finished is None:
            outcome = session.outcome
            finished = outcome is not None and not outcome.partial and session.watch.stop is None
        accounts.set_status(plan.run_id, "finished" if finished else "interrupted")


def _cancel_left_open(broker: Broker) -> None:
    """An order still open when the run ends is cancelled (on the exchange too; an exchange
    that cannot be reached now is reconciled at the next start). Stops stay: they protect."""
    try:
        broker.cancel_pending()
    except BrokerError as exc:
        log.warning("orders left open at the end of the run: %s", exc)


def _rounded(usage: LlmUsage) -> LlmUsage:
    return usage.model_copy(update={"cost_usd": round(usage.cost_usd, 6)})


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
