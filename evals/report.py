"""The evaluation report: a documented, stable schema (`report.json`), built from one replay.

Everything in it is computed from what the replay recorded cycle by cycle (the sealed traces
and the position after each cycle) and from the same candles for the baselines, which fill
exactly as the paper broker fills the agent (see `evals.baselines`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.market.series import CandleSeries
from core.settings import ExecutionSettings, Settings
from core.types import MarketInfo, Side, Trace, canonical_json
from evals.baselines import Costs, SimulatedRun, buy_and_hold, cash, sma_crossover
from evals.holdings import EquitySeries, SymbolRow, holdings
from evals.periods import Periods, period_returns
from evals.trade_list import TradeRow, TradeStats, trade_rows, trade_stats
from graphs.summary import BreakerTrip, RunSummary, iso
from tools.metrics import (
    MIN_ANNUALIZED_DAYS,
    PerformanceMetrics,
    performance,
    too_short_to_annualize,
    without_annualized,
)
from tools.trades import closed_trades

SCHEMA_VERSION = 2
"""2: trades, trade_stats, periods, per_symbol, notes, warnings and series added; the
annualized metrics are null for a window shorter than 30 days."""
MIN_TRADES = 30
"""Fewer closed trades than this, and the report warns that its trade statistics are noisy."""


class MarketSection(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    symbol: str
    timeframe: str
    first: str
    last: str
    bars: int
    synthetic: bool


class AgentSection(BaseModel):
    model_config = ConfigDict(frozen=True)

    analyst: str
    model: str | None
    prompt_version: str | None
    config_hash: str
    """sha256 of the settings that shape decisions (limits, breakers, costs, model, memory)."""
    memory: bool


class RiskSection(BaseModel):
    model_config = ConfigDict(frozen=True)

    violations: int
    """Executed orders outside the limits in force, re-checked independently of the validator."""
    denials: dict[str, int]
    breaker_trips: int
    final_state: str


class LlmSection(BaseModel):
    model_config = ConfigDict(frozen=True)

    requests: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cost_usd: float


class PerfSection(BaseModel):
    model_config = ConfigDict(frozen=True)

    wall_seconds: float
    decisions_per_second: float
    bars_per_second: float


class Determinism(BaseModel):
    model_config = ConfigDict(frozen=True)

    trace_root_hash: str
    """Hash over every cycle's decision content, independent of run ids and timings: two
    replays with the same inputs and seed give the same root."""


class EvalReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    run_id: str
    partial: bool = False
    """True when the replay was interrupted: the figures cover the cycles that ran."""
    market: MarketSection
    agent: AgentSection
    metrics: PerformanceMetrics
    baselines: dict[str, PerformanceMetrics]
    risk: RiskSection
    llm: LlmSection
    perf: PerfSection
    determinism: Determinism
    trades: list[TradeRow] = []
    """Every closed round trip (positions open at the end are counted in trade_stats)."""
    trade_stats: TradeStats | None = None
    periods: Periods | None = None
    per_symbol: list[SymbolRow] = []
    notes: list[str] = []
    """What the figures leave out, and why."""
    warnings: list[str] = []
    """What makes the figures less trustworthy than they look."""
    series: EquitySeries | None = None


@dataclass
class CycleRecorder:
    """Collects, cycle by cycle, what the report needs (a `run_session` observer)."""

    traces: list[Trace] = field(default_factory=list)
    held: list[float] = field(default_factory=list)

    def __call__(self, trace: Trace, position: float) -> None:
        self.traces.append(trace)
        self.held.append(position)


WALL_CLOCK_KEYS = frozenset({"latency_s"})
"""Keys inside a trace's messages that hold wall-clock measurements (the LLM audit notes)."""


CLIENT_ORDER_ID = re.compile(r"\btg-[0-9a-f]{29}\b")
"""A derived client order id: a hash over the run id, so it differs between identical
replays; what it is derived from (symbol, candle, leg) is in the trace already."""


def decision_digest(trace: Trace) -> str:
    """The cycle's content without what differs between identical replays: the run id (in ids,
    client order ids and hashes), wall-clock latencies, and where the candles were read from
    (the path as typed goes into `market_source` and `inputs_hash`; the candles' content is in
    the features)."""
    body = trace.model_dump(
        mode="json",
        exclude={"run_id", "latency_ms", "prev_hash", "hash", "market_source", "inputs_hash"},
    )
    text = canonical_json(_without_wall_clock(body)).replace(trace.run_id, "RUN")
    return CLIENT_ORDER_ID.sub("tg-ORDER", text)


def _without_wall_clock(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_wall_clock(v) for k, v in value.items() if k not in WALL_CLOCK_KEYS}
    if isinstance(value, list):
        return [_without_wall_clock(v) for v in value]
    return value


def trace_root_hash(traces: list[Trace]) -> str:
    root = hashlib.sha256()
    for trace in traces:
        root.update(hashlib.sha256(decision_digest(trace).encode()).digest())
    return root.hexdigest()


def config_hash(settings: Settings) -> str:
    shaping = settings.model_dump(
        mode="json",
        include={"risk", "breakers", "execution", "recall_k", "memory", "analyst"},
    )
    shaping["model"] = settings.anthropic.model if settings.analyst == "anthropic" else None
    return hashlib.sha256(canonical_json(shaping).encode()).hexdigest()


def agent_metrics(
    recorder: CycleRecorder, initial_cash: float, period_seconds: float
) -> PerformanceMetrics:
    """Metrics over the equity at each candle close (a portfolio runs one cycle per market at
    a close: the close's equity is the one after its last cycle); a close counts as exposed
    when any market was held after its cycle."""
    traces = recorder.traces
    fills = [fill for trace in traces for fill in trace.fills]
    ends = _closes_of_ticks(traces)
    exposed, start = 0, 0
    for end in ends:
        exposed += any(q > 0 for q in recorder.held[start : end + 1])
        start = end + 1
    return performance(
        [initial_cash, *(traces[i].equity for i in ends)],
        period_seconds=period_seconds,
        trade_pnls=[t.pnl for t in closed_trades(fills)],
        bars_exposed=exposed,
        traded_notional=sum(f.notional for f in fills),
        fees_paid=sum(f.fee for f in fills),
    )


@dataclass(frozen=True)
class EvalResult:
    """The report and the series behind its plots."""

    report: EvalReport
    times_ms: list[int]
    """Close time of every replayed candle."""
    close: list[float]
    equity: dict[str, list[float]]
    """Equity at every close: the agent's and each baseline's."""
    buys: list[tuple[int, float]]
    sells: list[tuple[int, float]]
    breaker_trips: tuple[BreakerTrip, ...]
    """Every trip and halt."""


def build_report(
    summary: RunSummary,
    recorder: CycleRecorder,
    markets: Sequence[tuple[MarketInfo, CandleSeries]],
    settings: Settings,
    *,
    period_seconds: float,
    model: str | None,
    prompt_version: str | None,
    partial: bool = False,
) -> EvalResult:
    execution = settings.execution
    closes = _closes_of_ticks(recorder.traces)
    bars = len(closes)
    series = markets[0][1]
    replayed = series.window(0, bars)
    baselines = {
        name: _equal_weight(markets, recorder.traces, strategy, execution)
        for name, strategy in (
            ("buy_and_hold", buy_and_hold),
            ("sma_crossover", sma_crossover),
            ("cash", cash),
        )
    }
    wall = summary.perf.wall_seconds
    llm = summary.llm
    traces = recorder.traces
    initial = summary.equity_start
    rows = trade_rows(traces, period_seconds)
    equity, per_symbol = holdings(traces, recorder.held, markets, initial, closes)
    metrics = agent_metrics(recorder, initial, period_seconds)
    hold = {k: run.metrics(period_seconds) for k, run in baselines.items()}
    notes, warnings = _notes(bars * period_seconds, len(rows), per_symbol)
    if too_short_to_annualize(bars * period_seconds):
        metrics = without_annualized(metrics)
        hold = {k: without_annualized(m) for k, m in hold.items()}
    report = EvalReport(
        run_id=summary.run_id,
        partial=partial,
        market=MarketSection(
            source=summary.market.source,
            symbol=summary.market.symbol,
            timeframe=summary.market.timeframe,
            first=iso(int(series.ts[0])),
            last=iso(int(series.ts[max(bars - 1, 0)])),
            bars=bars,
            synthetic=summary.market.synthetic,
        ),
        agent=AgentSection(
            analyst=summary.analyst,
            model=model,
            prompt_version=prompt_version,
            config_hash=config_hash(settings),
            memory=settings.memory.enabled,
        ),
        metrics=metrics,
        baselines=hold,
        risk=RiskSection(
            violations=summary.risk.violations,
            denials=summary.denials,
            breaker_trips=len(summary.risk.breaker_trips),
            final_state=summary.trading_state,
        ),
        llm=LlmSection(
            requests=llm.requests,
            input_tokens=llm.input_tokens,
            output_tokens=llm.output_tokens,
            cache_read_tokens=llm.cache_read_tokens,
            cost_usd=llm.cost_usd,
        ),
        perf=PerfSection(
            wall_seconds=wall,
            decisions_per_second=summary.perf.decisions_per_second,
            bars_per_second=round(bars / wall, 1) if wall > 0 else 0.0,
        ),
        determinism=Determinism(trace_root_hash=trace_root_hash(traces)),
        trades=rows,
        trade_stats=trade_stats(
            rows,
            fees_paid=metrics.fees_paid,
            initial_equity=initial,
            open_positions=sum(r.open_at_end for r in per_symbol),
        ),
        periods=period_returns(initial, int(series.ts[0]), equity.times_ms, equity.agent),
        per_symbol=per_symbol,
        notes=notes,
        warnings=warnings,
        series=equity,
    )
    fills = [fill for t in recorder.traces for fill in t.fills]
    primary = markets[0][0].symbol
    return EvalResult(
        report=report,
        times_ms=[recorder.traces[i].ts for i in closes],
        close=[float(c) for c in replayed.close],
        equity={
            "agent": [recorder.traces[i].equity for i in closes],
            **{k: run.equity[1:] for k, run in baselines.items()},
        },
        buys=[(f.ts, f.price) for f in fills if f.side is Side.BUY and f.symbol == primary],
        sells=[(f.ts, f.price) for f in fills if f.side is Side.SELL and f.symbol == primary],
        breaker_trips=summary.risk.breaker_trips,
    )


def _notes(
    window_seconds: float, trades: int, per_symbol: list[SymbolRow]
) -> tuple[list[str], list[str]]:
    notes, warnings = [], []
    if too_short_to_annualize(window_seconds):
        notes.append(
            f"annualized figures (CAGR, Sharpe, Sortino, Calmar) omitted: the window is "
            f"{window_seconds / 86_400:.1f} days, shorter than {MIN_ANNUALIZED_DAYS}"
        )
    still_open = [r.symbol for r in per_symbol if r.open_at_end]
    if still_open:
        notes.append(
            f"{len(still_open)} position(s) still open at the end ({', '.join(still_open)}): "
            "not in the trade list; marked at the last close in per_symbol and the equity"
        )
    if trades < MIN_TRADES:
        warnings.append(
            f"{trades} closed trade(s), fewer than {MIN_TRADES}: the trade statistics are noisy"
        )
    return notes, warnings


def _closes_of_ticks(traces: list[Trace]) -> list[int]:
    """Index of the last cycle of each candle close (a portfolio runs one cycle per market
    at each close; the account's equity after the last one is the close's equity)."""
    return [i for i, t in enumerate(traces) if i + 1 == len(traces) or traces[i + 1].ts != t.ts]


def _equal_weight(
    markets: Sequence[tuple[MarketInfo, CandleSeries]],
    traces: list[Trace],
    strategy: Callable[[CandleSeries, Costs], SimulatedRun],
    execution: ExecutionSettings,
) -> SimulatedRun:
    """A baseline over the portfolio: the starting cash split equally between the markets,
    each traded by `strategy` over the candles the agent saw of it, added up at every close
    (a market's last equity carries over a close it has no candle at)."""
    share = execution.initial_cash / len(markets)
    costs = Costs(share, execution.fee_rate, execution.slippage_bps)
    ticks = [traces[i].ts for i in _closes_of_ticks(traces)]
    total = SimulatedRun(equity=[execution.initial_cash] + [0.0] * len(ticks))
    for info, series in markets:
        seen = sum(1 for t in traces if t.symbol == info.symbol)
        run = strategy(series.window(0, seen), costs)
        closes_at = {int(ts) + info.period_ms: k for k, ts in enumerate(series.ts[:seen])}
        last = share
        for j, tick in enumerate(ticks, 1):
            k = closes_at.get(tick)
            last = run.equity[k + 1] if k is not None else last
            total.equity[j] += last
        total.trade_pnls.extend(run.trade_pnls)
        total.bars_exposed = max(total.bars_exposed, run.bars_exposed)
        total.traded_notional += run.traded_notional
        total.fees_paid += run.fees_paid
        if info is markets[0][0]:
            total.entries, total.exits = run.entries, run.exits
    return total


def report_json(report: EvalReport) -> str:
    data: dict[str, Any] = report.model_dump(mode="json")
    return json.dumps(data, indent=2, allow_nan=False) + "\n"
