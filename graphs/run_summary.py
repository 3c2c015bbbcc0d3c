"""The summary of a node's run: portfolio figures, per-market figures, risk, memory, LLM."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from agents.base import Analyst, LlmUsage
from core.types import Fill
from graphs.analyst_watch import AnalystWatch
from graphs.summary import (
    BreakerTrip,
    ErrorSummary,
    MarketSummary,
    MemorySummary,
    PerfSummary,
    RiskSummary,
    RunSummary,
    SymbolSummary,
    TraceStoreSummary,
    iso,
)
from memory.traces import COLLECTION as TRACES
from tools.compliance import count_violations
from tools.metrics import buy_and_hold_return, max_drawdown

if TYPE_CHECKING:
    from graphs.node import NodeOutcome, TradingNode


def summarize(
    run_id: str,
    analyst: Analyst,
    node: TradingNode,
    outcome: NodeOutcome | None,
    *,
    equity_start: float,
    started: float,
    usage: LlmUsage,
    signal_name: str | None,
    account: str,
    resumed_from: int | None,
    watch: AnalystWatch | None = None,
) -> RunSummary:
    ports = node.ports
    journal, memory = ports.journal, ports.memory
    fills = ports.ledger.fills(run_id)
    equity = outcome.equity if outcome is not None else []
    decisions = outcome.decisions if outcome is not None else 0
    violations, examples = count_violations(journal.executed)
    state = ports.board.status().state.value
    infos = ports.feed.markets
    symbols = tuple(_symbol_summary(node, symbol, fills) for symbol in node.tallies)
    traded = [s for s in symbols if s.decisions]
    first = min((s.first for s in traded), default="")
    last = max((s.last for s in traded), default="")
    wall = time.perf_counter() - started
    loop = outcome.loop_seconds if outcome is not None else 0.0
    return RunSummary(
        run_id=run_id,
        partial=outcome is None or outcome.partial,
        stopped=watch.stop if watch is not None else None,
        stopped_by=signal_name,
        account=account,
        resumed_from=resumed_from,
        market=MarketSummary(
            source=infos[0].source,
            symbol=",".join(info.symbol for info in infos),
            timeframe=infos[0].timeframe,
            synthetic=any(info.synthetic for info in infos),
            first=first,
            last=last,
        ),
        symbols=symbols,
        analyst=analyst.name,
        bars=ports.feed.expected_cycles or decisions,
        decisions=decisions,
        orders=outcome.orders if outcome is not None else 0,
        fills=len(fills),
        denials=dict(sorted(outcome.denials.items())) if outcome is not None else {},
        equity_start=equity_start,
        equity_final=equity[-1] if equity else equity_start,
        total_return=(equity[-1] / equity_start - 1.0) if equity else 0.0,
        buy_and_hold_return=(
            sum(s.buy_and_hold_return for s in traded) / len(traded) if traded else 0.0
        ),
        max_drawdown=max_drawdown([equity_start, *equity]),
        fees_paid=sum(f.fee for f in fills),
        trading_state=state,
        risk=RiskSummary(
            violations=violations,
            violation_examples=tuple(examples),
            denials=sum(outcome.denials.values()) if outcome is not None else 0,
            breaker_trips=tuple(
                BreakerTrip(
                    ts=iso(e.ts), kind=e.kind, breaker=e.breaker, stage=e.stage, reason=e.reason
                )
                for e in journal.breaker_events
                if e.kind in ("trip", "halt")
            ),
            state=state,
        ),
        traces=memory.traces.count,
        trace_store=TraceStoreSummary(
            path=memory.location,
            collection=TRACES,
            run_id=run_id,
            chain_head=memory.traces.last_hash,
            spooled=memory.traces.spooled,
        ),
        memory=MemorySummary(
            enabled=node.config.settings.memory.enabled,
            situations=max((len(s) for s in memory.situations.values()), default=0),
            lessons_written=len(memory.lessons.written),
            lessons=len(memory.lessons),
        ),
        llm=usage,
        errors=watch.summary() if watch is not None else ErrorSummary(),
        perf=PerfSummary(
            wall_seconds=round(wall, 3),
            decisions_per_second=round(decisions / loop, 1) if loop else 0.0,
            first_decision_seconds=round(
                outcome.first_decision_seconds if outcome is not None else 0.0, 3
            ),
        ),
    )


def _symbol_summary(node: TradingNode, symbol: str, fills: list[Fill]) -> SymbolSummary:
    tally, history = node.tallies[symbol], node.histories[symbol]
    execution = node.config.settings.execution
    mine = [f for f in fills if f.symbol == symbol]
    closed = node.ports.journal.round_trips.closed
    share = execution.initial_cash / len(node.tallies)
    return SymbolSummary(
        symbol=symbol,
        first=iso(tally.first_ts) if tally.first_ts is not None else "",
        last=iso(tally.last_ts) if tally.last_ts is not None else "",
        decisions=tally.decisions,
        orders=tally.orders,
        fills=len(mine),
        realized_pnl=sum(t.pnl for t in closed if t.symbol == symbol),
        fees_paid=sum(f.fee for f in mine),
        buy_and_hold_return=buy_and_hold_return(
            history.open(),
            history.close(),
            fee_rate=execution.fee_rate,
            slippage_bps=execution.slippage_bps,
            initial_cash=share,
        ),
    )
