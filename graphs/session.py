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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.base import Analyst, AnalystResult, LlmUsage
from agents.reflection import Reflector, SummaryReflector
from core.accounts import RunRecord, replay_account
from core.backends import AccountStore, storage_for
from core.clock import SimulatedClock
from core.errors import UserError
from core.market.series import CandleSeries
from core.risk_state import RiskState, check_latches
from core.settings import Settings
from core.types import MarketInfo, Trace
from core.writer_lock import writer_lock
from graphs.analyst_watch import AnalystUnreachableError, AnalystWatch
from graphs.feeds import ReplayFeed
from graphs.node import CycleObserver, NodeConfig, NodePorts, Progress, TradingNode
from graphs.nodes import CycleJournal
from graphs.run_summary import summarize
from graphs.stopping import StopBetweenCycles
from graphs.summary import RunSummary
from memory.session_stores import open_memory
from memory.traces import load_run, verify_chain
from risk.breakers import BreakerBoard
from risk.breakers.board import MANUAL
from risk.breakers.keys import PREFIX
from tools.execution.paper import PaperBroker
from tools.trades import RoundTrips

__all__ = ["CycleObserver", "Progress", "SessionPlan", "run_session"]


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
) -> RunSummary:
    """Replay the plan's markets through a trading node with a paper broker; the summary.

    `started` is the perf_counter reading the timings count from (the process start, from the
    CLI); by default, the call itself. With `stop_on_interrupt`, Ctrl-C or SIGTERM ends the
    replay after the cycle in progress and the summary is marked `partial`; a second signal
    stops at once. With `resume`, the run `plan.run_id` that was killed carries on. An
    analyst that cannot be reached at all stops the run too: AnalystUnreachableError, carrying
    the summary.
    """
    started = time.perf_counter() if started is None else started
    with writer_lock(plan.data_dir):
        return _run_session(
            plan, analyst, on_progress, started, on_cycle, stop_on_interrupt, resume
        )


def _run_session(
    plan: SessionPlan,
    analyst: Analyst,
    on_progress: Progress | None,
    started: float,
    on_cycle: CycleObserver | None,
    stop_on_interrupt: bool,
    resume: bool,
) -> RunSummary:
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
    memory = open_memory(
        root,
        plan.run_id,
        [info for info, _ in plan.markets],
        url=settings.chroma_url,
        embedding=settings.memory.embedding,
        enabled=settings.memory.enabled,
        batch_size=settings.trace_batch_size,
        writer=settings.memory.writer,
        cycles=sum(len(series) for _, series in plan.markets),
    )
    sealed = _sealed_traces(memory.traces, plan.run_id) if resume else []
    memory.traces.catch_up(sealed)
    feed = ReplayFeed(plan.markets)
    ports = NodePorts(
        feed=feed,
        clock=SimulatedClock(int(plan.series.ts[0])),
        ledger=ledger,
        broker=PaperBroker(
            ledger, fee_rate=execution.fee_rate, slippage_bps=execution.slippage_bps
        ),
        board=BreakerBoard(breaker_store, account.name, settings.breakers),
        memory=memory,
        analyst=analyst,
        accounts=accounts,
        reflector=plan.reflector or SummaryReflector(),
        journal=CycleJournal(round_trips=RoundTrips.continuing(ledger.fills())),
        replayed=_recorded_analysis(sealed, analyst),
    )
    node = TradingNode(NodeConfig(plan.run_id, account.name, settings, root), ports)
    stop = StopBetweenCycles() if stop_on_interrupt else None
    watch = AnalystWatch(settings.breakers.error_consecutive)
    outcome = None
    try:
        outcome = node.run(
            on_progress=on_progress, on_cycle=on_cycle, stop=stop, started=started, watch=watch
        )
    finally:
        if stop is not None:
            stop.restore()
        memory.close()
        for order in ports.broker.pending():
            ledger.cancel(order.client_order_id)
        finished = outcome is not None and not outcome.partial and watch.stop is None
        accounts.set_status(plan.run_id, "finished" if finished else "interrupted")
    summary = summarize(
        plan.run_id,
        analyst,
        node,
        outcome,
        equity_start=equity_start,
        started=started,
        usage=_rounded(ports.journal.llm_usage + ports.reflector.usage),
        signal_name=stop.signal_name if stop is not None else None,
        account=account.name,
        resumed_from=len(sealed) if resume else None,
        watch=watch,
    )
    ledger.close()
    accounts.close()
    if watch.stop is not None:
        raise AnalystUnreachableError(watch.stop, summary)
    return summary


def _start_or_resume(
    plan: SessionPlan, accounts: AccountStore, store: RiskState, resume: bool
) -> RunRecord:
    account = plan.account_name
    prefix = f"{PREFIX}{account}/"
    if not resume:
        unfinished = [r for r in accounts.unfinished(account) if r.run_id != plan.run_id]
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
