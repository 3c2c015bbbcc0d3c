"""The summary of a run, as printed and as written by `--json`."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from agents.base import LlmUsage
from core.types import BreakerStage, EventKind


def iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


class MarketSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    symbol: str
    timeframe: str
    synthetic: bool
    first: str
    last: str


class TraceStoreSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    collection: str
    run_id: str
    chain_head: str
    spooled: int = 0
    """Traces still in the local spool because the store could not be written."""


class MemorySummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    enabled: bool
    situations: int
    """Situations recallable at the end of the run (this run's and earlier runs')."""
    lessons_written: int
    lessons: int
    """Lessons recallable at the end of the run."""


class BreakerTrip(BaseModel):
    """A breaker trip or a manual halt during the run."""

    model_config = ConfigDict(frozen=True)

    ts: str
    kind: EventKind
    breaker: str
    stage: BreakerStage
    """The stage it entered: size_cut, reducing or halt."""
    reason: str


class RiskSummary(BaseModel):
    """`violations` is counted by the independent compliance re-check, not by the validator."""

    model_config = ConfigDict(frozen=True)

    violations: int
    violation_examples: tuple[str, ...] = ()
    denials: int
    breaker_trips: tuple[BreakerTrip, ...]
    state: str


class AnalystFailure(BaseModel):
    model_config = ConfigDict(frozen=True)

    ts: str
    kind: str
    """The exception's class name, e.g. APIConnectionError, AuthenticationError."""
    message: str
    """What the analyst reported (the API key and anything shaped like one blanked out)."""


class ErrorSummary(BaseModel):
    """Cycles the analyst failed (each became a HOLD), by kind, with the first and the last."""

    model_config = ConfigDict(frozen=True)

    count: int = 0
    by_kind: dict[str, int] = Field(default_factory=dict)
    first: AnalystFailure | None = None
    last: AnalystFailure | None = None


class PerfSummary(BaseModel):
    """Wall time and first decision count from process start; the rate from the loop alone."""

    model_config = ConfigDict(frozen=True)

    wall_seconds: float
    decisions_per_second: float
    first_decision_seconds: float


class SymbolSummary(BaseModel):
    """One market of a run: its window, decisions, orders, realized P&L and buy-and-hold."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    first: str
    last: str
    decisions: int
    orders: int
    fills: int
    realized_pnl: float
    fees_paid: float
    buy_and_hold_return: float


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    partial: bool = False
    """True when Ctrl-C or SIGTERM, or an analyst that cannot be reached, ended the run early:
    the figures cover the cycles that ran."""
    stopped: str | None = None
    """Why the run stopped before its last candle, when it was not a signal."""
    stopped_by: str | None = None
    """SIGINT or SIGTERM when a signal ended the run early."""
    account: str = ""
    """The account traded: `replay:RUN_ID` for a run of its own, or the --account given."""
    resumed_from: int | None = None
    """For a resumed run: how many sealed traces it caught up on before carrying on."""
    market: MarketSummary
    symbols: tuple[SymbolSummary, ...] = ()
    """Per market; `buy_and_hold_return` above is their equal-weight portfolio."""
    analyst: str
    bars: int
    decisions: int
    orders: int
    fills: int
    denials: dict[str, int]
    equity_start: float
    equity_final: float
    total_return: float
    buy_and_hold_return: float
    max_drawdown: float
    fees_paid: float
    trading_state: str
    risk: RiskSummary
    traces: int
    trace_store: TraceStoreSummary
    memory: MemorySummary | None = None
    llm: LlmUsage = LlmUsage()
    """Anthropic requests, tokens and cost (all zero for the offline analyst)."""
    errors: ErrorSummary = ErrorSummary()
    """The analyst's failures."""
    perf: PerfSummary
