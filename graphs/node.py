"""The trading node: the one engine every way of running the agent drives.

A node is built from a frozen config and injected ports (a market feed, a clock, a broker, the
memory stores, the breaker board, the analyst, the account's run book), as nautilus_trader's
backtest and live nodes share one kernel. `run`, `eval`, suites and scheduled agents differ
only in the ports they plug in; drivers hold no business logic.

At each candle close the node appends the closed candles to its markets' histories, moves the
clock to the close, then runs one decision cycle per market that closed, in a fixed order,
against one account: so the exposure, open-position and correlation limits act across its
markets. After every cycle it counts the cycle in the run's record, apart from the traces, so
`audit verify` can tell a complete chain from one whose tail a killed process lost.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agents.base import Analyst
from agents.reflection import Reflector, SummaryReflector
from core.backends import AccountStore, LedgerStore
from core.clock import Clock
from core.market.history import MarketHistory
from core.market.series import CandleSeries
from core.notifications import NoNotifier, Notifier
from core.settings import Settings
from core.types import Approved, Candle, Denied, MarketInfo, Trace
from graphs.analyst_watch import AnalystWatch
from graphs.cycle_ports import Broker, CycleDeps, CycleJournal
from graphs.decision import build_decision_graph
from graphs.feeds import MarketFeed
from graphs.market_book import MarketBook
from graphs.stopping import StopSignal
from memory.session_stores import MemoryStores
from risk.breakers import BreakerBoard

Progress = Callable[[int], None]
CycleObserver = Callable[[Trace, float], None]
"""Called after every cycle with its sealed trace and the position held after it."""

CYCLE_OUTPUTS = ["verdict", "trace", "analysis"]
"""What the node reads of a finished cycle's state (reading only these costs less than
LangGraph's default of every key)."""


class SteppedClock(Clock, Protocol):
    def advance_to(self, ts_ms: int) -> None: ...


@dataclass(frozen=True)
class NodeConfig:
    """What a node is, independent of how it is driven."""

    run_id: str
    account: str
    settings: Settings
    data_dir: Path


@dataclass
class NodePorts:
    """What a node runs against; each driver plugs in its own."""

    feed: MarketFeed
    clock: SteppedClock
    ledger: LedgerStore
    broker: Broker
    board: BreakerBoard
    memory: MemoryStores
    analyst: Analyst
    accounts: AccountStore
    reflector: Reflector = field(default_factory=SummaryReflector)
    journal: CycleJournal = field(default_factory=CycleJournal)
    replayed: Callable[[int], Any] | None = None
    """While a resumed run catches up: the analysis its sealed trace recorded for a cycle."""
    warmup: Sequence[tuple[MarketInfo, CandleSeries]] = ()
    """A live run's closed candles from before it started: history for the features, no
    decision made on them."""
    order_id_scope: str = ""
    """What client order ids are unique within: "" the run (replays), an account name (an
    exchange: a restarted process re-derives the ids it sent)."""
    notifier: Notifier = field(default_factory=NoNotifier)
    """Where fills, breaker trips and halts are told (`tools.notify`); by default nowhere."""


@dataclass
class MarketTally:
    """Per-market figures of one run."""

    info: MarketInfo
    first_ts: int | None = None
    last_ts: int | None = None
    decisions: int = 0
    orders: int = 0


@dataclass
class NodeOutcome:
    """What a run of the node leaves, for its driver to summarize."""

    decisions: int
    orders: int
    denials: Counter[str]
    equity: list[float]
    tallies: dict[str, MarketTally]
    partial: bool
    loop_seconds: float
    first_decision_seconds: float


class TradingNode:
    def __init__(self, config: NodeConfig, ports: NodePorts) -> None:
        self.config = config
        self.ports = ports
        settings = config.settings
        infos = ports.feed.markets
        capacity = (ports.feed.expected_cycles or 1024) // max(1, len(infos)) + 2
        self.histories = {info.symbol: MarketHistory(info, capacity=capacity) for info in infos}
        self.book = MarketBook(self.histories)
        for info, series in ports.warmup:
            for i in range(len(series)):
                self.histories[info.symbol].append(series.candle(i))
            if len(series):
                self.book.mark(info.symbol, series.candle(len(series) - 1).close)
        self.graphs: dict[str, Any] = {}
        for info in infos:
            deps = CycleDeps(
                run_id=config.run_id,
                history=self.histories[info.symbol],
                clock=ports.clock,
                broker=ports.broker,
                analyst=ports.analyst,
                breakers=ports.board,
                limits=settings.risk,
                breaker_limits=settings.breakers,
                traces=ports.memory.traces,
                situations=ports.memory.situations[info.symbol],
                lessons=ports.memory.lessons,
                reflector=ports.reflector,
                journal=ports.journal,
                recall_k=settings.recall_k,
                lesson_k=settings.memory.lesson_k,
                market_key=ports.memory.market_keys[info.symbol],
                book=self.book,
                replayed=ports.replayed,
                order_id_scope=ports.order_id_scope,
                notifier=ports.notifier,
                account=config.account,
            )
            self.graphs[info.symbol] = build_decision_graph(deps)
        self.tallies = {info.symbol: MarketTally(info) for info in infos}
        self.seq = 0
        """Cycles decided so far: the next trace's sequence number."""
        self.orders = 0
        self.denials: Counter[str] = Counter()
        self.equity: list[float] = []
        self.first_decision = 0.0

    def run(
        self,
        *,
        on_progress: Progress | None = None,
        on_cycle: CycleObserver | None = None,
        stop: StopSignal | None = None,
        started: float | None = None,
        watch: AnalystWatch | None = None,
    ) -> NodeOutcome:
        """Drive the feed to its end (or until `stop` asks, or `watch` finds the analyst
        unreachable): one cycle per market per close."""
        started = time.perf_counter() if started is None else started
        partial = False
        loop_started = time.perf_counter()
        for close_ms, candles in self.ports.feed.closes():
            if partial or (stop is not None and stop.requested):
                partial = True
                break
            self.advance(close_ms, candles)
            for symbol, candle in candles.items():
                trace, analysis = self.decide(symbol, candle, on_cycle=on_cycle, started=started)
                if on_progress is not None:
                    on_progress(self.seq)
                if watch is not None and watch.observe(trace.ts, analysis) is not None:
                    partial = True
                    break
            self.count_cycles()
        if stop is not None and stop.requested:  # a live feed ends quietly when asked to stop
            partial = True
        return self.outcome(partial, time.perf_counter() - loop_started)

    def advance(self, close_ms: int, candles: dict[str, Candle]) -> None:
        """A close: the candles that closed join their histories and the clock moves to it."""
        for symbol, candle in candles.items():
            self.histories[symbol].append(candle)
            self.book.mark(symbol, candle.close)
        self.ports.clock.advance_to(close_ms)

    def decide(
        self,
        symbol: str,
        candle: Candle,
        *,
        on_cycle: CycleObserver | None = None,
        started: float | None = None,
    ) -> tuple[Trace, Any]:
        """One decision cycle on `symbol` at the clock's time: its trace and analysis."""
        ports = self.ports
        result = self.graphs[symbol].invoke({"seq": self.seq}, output_keys=CYCLE_OUTPUTS)
        verdict, trace = result["verdict"], result["trace"]
        tally = self.tallies[symbol]
        if tally.first_ts is None:
            tally.first_ts = candle.ts
        tally.last_ts = candle.ts
        tally.decisions += 1
        if isinstance(verdict, Approved):
            self.orders += 1
            tally.orders += 1
        elif isinstance(verdict, Denied):
            self.denials.update(verdict.codes)
        self.equity.append(trace.equity)
        if on_cycle is not None:
            on_cycle(trace, ports.broker.portfolio.quantity(symbol))
        if self.seq == 0 and started is not None:
            self.first_decision = time.perf_counter() - started
        self.seq += 1
        return trace, result["analysis"]

    def count_cycles(self) -> None:
        """The cycles so far, in the run's record (apart from the traces: see the module)."""
        self.ports.accounts.count_cycles(self.config.run_id, self.seq)

    def outcome(self, partial: bool, loop_seconds: float) -> NodeOutcome:
        return NodeOutcome(
            decisions=self.seq,
            orders=self.orders,
            denials=self.denials,
            equity=self.equity,
            tallies=self.tallies,
            partial=partial,
            loop_seconds=loop_seconds,
            first_decision_seconds=self.first_decision,
        )
