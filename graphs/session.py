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

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.base import Analyst, AnalystResult, LlmUsage
from agents.reflection import Reflector, SummaryReflector
from core.accounts import RunRecord, replay_account
from core.backends import AccountStore, storage_for
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
from graphs.stopping import StopBetweenCycles
from graphs.summary import RunSummary
from memory.session_stores import WriterChoice, open_memory
from memory.traces import load_run, verify_chain
from risk.breakers import BreakerBoard
from risk.breakers.board import MANUAL
from risk.breakers.keys import PREFIX
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
    _start_or_resume(plan, accounts, breaker_store, resume)
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
    sealed = _sealed_traces(memory.traces, plan.run_id) if resume else []
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
        replayed=_recorded_analysis(sealed, analyst),
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


def _start_or_resume(
    plan: SessionPlan, accounts: AccountStore, store: RiskState, resume: bool
) -> RunRecord:
    account = plan.account_name
    prefix = f"{PREFIX}{account}/"
    if not resume:
        unfinished = [r for r in accounts.unfinished(account) if r.run_id != plan.run_id]
        if plan.live or plan.scheduled:  # a killed live run is not replayed: this one goes on
            for earlier in unfinished:
                accounts.set_status(earlier.run_id, "interrupted")
            unfinished = []
        if unfinished and plan.account is not None:
            raise UserError(
                f"account {account} has a run that did not finish ({unfinished[0].run_id}): "
                f"resume it first with `tradegraph run --resume {unfinished[0].run_id}`"
            )
        if accounts.run(plan.run_id) is not None:
            raise UserError(f"run {plan.run_id} exists already: resume it with --resume")
        record = RunRecord(
            run_id=plan.run_id,
            account=account,
            status="running",
            started_ms=_now_ms(),
            request=plan.request,
            breaker_state={key: store.get(key) or "" for key in store.keys(prefix)},
        )
        accounts.start_run(record)
        return record
    found = accounts.run(plan.run_id)
    if found is None:
        raise UserError(f"no run {plan.run_id} in this data directory: nothing to resume")
    if found.status == "finished":
        raise UserError(f"run {plan.run_id} finished: there is nothing to resume")
    _restore_breakers(store, prefix, found.breaker_state)
    accounts.set_status(plan.run_id, "running")
    return found


def _restore_breakers(store: RiskState, prefix: str, saved: dict[str, str]) -> None:
    """Set the account's breaker records back to how they were when the run started, so the
    replayed cycles trip exactly what they tripped the first time. A manual halt engaged since
    then stays: an operator's halt is never lifted but by an explicit resume."""
    kill_key = f"{prefix}kill_switch"
    current_kill = store.get(kill_key)
    for key in store.keys(prefix):
        if key not in saved:
            store.delete(key)
    for key, value in saved.items():
        store.put(key, value)
    if current_kill is not None and current_kill != saved.get(kill_key) and _manual(current_kill):
        store.put(kill_key, current_kill)


def _manual(record: str) -> bool:
    """An engaged kill switch record written by an operator's `halt` (unreadable counts too:
    it is kept, and the board treats it as a halt)."""
    try:
        parsed = json.loads(record)
    except ValueError:
        return True
    return not isinstance(parsed, dict) or (
        parsed.get("engaged") is True and parsed.get("by") == MANUAL
    )


def _sealed_traces(traces: Any, run_id: str) -> list[Trace]:
    """The run's traces as sealed before it was killed, checked link by link."""
    sealed = load_run(traces.collection, run_id)
    expected = list(range(len(sealed)))
    if [t.seq for t in sealed] != expected or verify_chain(sealed) is not None:
        raise UserError(
            f"run {run_id}'s stored traces do not form an intact chain: "
            f"`tradegraph audit verify --run {run_id}` says where; it cannot be resumed"
        )
    return sealed


def _recorded_analysis(
    sealed: list[Trace], analyst: Analyst
) -> Callable[[int], AnalystResult | None] | None:
    """While catching up, an analyst that is not deterministic (Claude) is not asked again:
    the cycle gets the analysis its sealed trace recorded (no second bill, the same decision).
    A deterministic analyst decides again, which also rebuilds its own state."""
    if not sealed or getattr(analyst, "deterministic", False):
        return None
    by_seq = {trace.seq: trace for trace in sealed}

    def recorded(seq: int) -> AnalystResult | None:
        trace = by_seq.get(seq)
        if trace is None:
            return None
        return AnalystResult(
            proposal=trace.proposal,
            model=trace.model,
            prompt_version=trace.prompt_version,
            messages=trace.messages,
            usage=LlmUsage.model_validate(trace.llm) if trace.llm else LlmUsage(),
        )

    return recorded


def _rounded(usage: LlmUsage) -> LlmUsage:
    return usage.model_copy(update={"cost_usd": round(usage.cost_usd, 6)})


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
