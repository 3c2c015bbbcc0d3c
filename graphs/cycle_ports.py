"""What a decision cycle runs against: the broker it may submit approvals to, the journal a
session keeps across cycles, and the ports (`CycleDeps`) the steps of `graphs.nodes` are given:
the graph holds no other reference to the world.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from agents.base import Analyst, AnalystResult, LlmUsage
from agents.reflection import Reflector, SummaryReflector
from core.clock import Clock
from core.market.history import MarketHistory
from core.notifications import NoNotifier, Notifier
from core.types import (
    Approved,
    BreakerEvent,
    BreakerLimits,
    Candle,
    Fill,
    Order,
    Portfolio,
    RecentOrder,
    RiskLimits,
    Side,
    TraceEvent,
)
from graphs.market_book import MarketBook
from graphs.reviews import PositionReviews
from memory.lessons import LessonMemory
from memory.situations import SituationMemory
from memory.traces import TraceStore
from risk.breakers import BreakerBoard
from tools.compliance import ExecutedOrder
from tools.trades import RoundTrips


class Broker(Protocol):
    """What the execute step needs of a broker: it accepts approvals only."""

    @property
    def portfolio(self) -> Portfolio: ...

    def submit(self, approved: Approved) -> Order: ...

    def on_candle(self, symbol: str, candle: Candle) -> list[Fill]: ...

    def pending(self) -> list[Order]: ...

    def cancel_pending(
        self, side: Side | None = None, symbol: str | None = None
    ) -> list[Order]: ...


@dataclass
class CycleJournal:
    """What a session remembers across cycles: recent orders (for the throttle and duplicate
    guard), round trips (for the loss-streak breaker), executed orders (for the independent
    compliance re-check) and breaker events (for the summary)."""

    recent_orders: deque[RecentOrder] = field(default_factory=deque)
    round_trips: RoundTrips = field(default_factory=RoundTrips)
    executed: list[ExecutedOrder] = field(default_factory=list)
    breaker_events: list[BreakerEvent] = field(default_factory=list)
    llm_usage: LlmUsage = field(default_factory=LlmUsage)
    events: list[TraceEvent] = field(default_factory=list)
    """What happened outside the decisions since the last trace (reconciliation corrections,
    feed switches): drained into the next trace of whichever market decides next."""


@dataclass
class CycleDeps:
    """The ports a cycle runs against; the graph holds no other reference to the world."""

    run_id: str
    history: MarketHistory
    clock: Clock
    broker: Broker
    analyst: Analyst
    breakers: BreakerBoard
    limits: RiskLimits
    breaker_limits: BreakerLimits
    traces: TraceStore
    situations: SituationMemory
    lessons: LessonMemory = field(default_factory=lambda: LessonMemory(None, None))
    reflector: Reflector = field(default_factory=SummaryReflector)
    journal: CycleJournal = field(default_factory=CycleJournal)
    recall_k: int = 5
    lesson_k: int = 3
    market_key: str = ""
    """Names this market's moments in situation memory (see memory.situations.market_key)."""
    book: MarketBook | None = None
    """Marks and correlations across the node's markets; None: this market alone."""
    replayed: Callable[[int], AnalystResult | None] | None = None
    """While a resumed run catches up: the analysis its sealed trace recorded for a cycle."""
    order_id_scope: str = ""
    """What client order ids are unique within: the run (replays; "" means the run id) or, for
    an exchange, the account, so a restarted process re-derives the ids it sent."""
    notifier: Notifier = field(default_factory=NoNotifier)
    """Told of fills, breaker trips and halts as they happen; it queues, never blocks."""
    account: str = ""

    def __post_init__(self) -> None:
        self.reviews = PositionReviews(self.history.info.timeframe)
        if self.book is None:
            self.book = MarketBook({self.history.info.symbol: self.history})

    @property
    def marks(self) -> dict[str, float]:
        assert self.book is not None
        return self.book.marks
