"""One dry decision cycle: "what would the agent decide now" (DESIGN.md's chat column).

The real decision graph (`build_decision_graph(..., dry=True)`: no execute step) runs once on
the market's latest closed candles, with the account's real book and breakers and the memory
the store holds, and with ports that cannot change anything:

- the broker is `DryBroker`: it reports the account's portfolio and pending orders from its
  ledger, settles no fill and refuses any order (the graph has no step that would send one);
- the breakers read the account's store through a `ReadOnlyLockStore`: they are evaluated as
  the next cycle would (drawdown, staleness, the kill switches), and what they would write is
  dropped;
- the trace is sealed but not stored, situations and lessons are read but not written.

The analyst is the settings' own (offline without an API key; Claude with one, which spends
tokens on the day's budget as any call does).
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from agents.base import Analyst
from core.clock import SimulatedClock
from core.types import Approved, Candle, Fill, Order, Portfolio, RecentOrder, Side
from graphs.analyst_choice import make_analyst
from graphs.chat.desk_base import ChatDesk
from graphs.chat.desk_market import OpenedMarket, history_of, market_now
from graphs.chat.desk_stores import AccountBook, read_account, read_risk
from graphs.cycle_ports import CycleDeps, CycleJournal
from graphs.decision import build_decision_graph
from graphs.state import CycleState
from memory.embeddings import HashingEmbedder
from memory.lessons import COLLECTION as LESSONS
from memory.lessons import LessonMemory, load_lessons
from memory.situations import COLLECTION as SITUATIONS
from memory.situations import SituationMemory, load_situations, market_key, memory_scope
from memory.store import open_chroma, release_chroma
from memory.traces import TraceStore
from memory.writer import DoneTicket, Ticket, Write
from risk.breakers import BreakerBoard

HISTORY = 1000
"""Closed candles the cycle sees: warm-up for the features, 720 for the outlier scale."""
NEVER_FLUSH = 1 << 62


class DryBroker:
    """The broker of a dry cycle: the account's book as its ledger holds it, and nothing
    else. It fills nothing, cancels nothing and accepts no order."""

    def __init__(self, portfolio: Portfolio, pending: Sequence[Order]) -> None:
        self._portfolio = portfolio
        self._pending = list(pending)

    @property
    def portfolio(self) -> Portfolio:
        return self._portfolio

    def submit(self, approved: Approved) -> Order:
        raise RuntimeError("a dry cycle sends no order")

    def on_candle(self, symbol: str, candle: Candle) -> list[Fill]:
        return []

    def pending(self) -> list[Order]:
        return list(self._pending)

    def cancel_pending(self, side: Side | None = None, symbol: str | None = None) -> list[Order]:
        return []


class DiscardingWriter:
    """A store writer that writes nothing: what a dry cycle would remember is dropped."""

    deferred = False

    def submit(self, writes: Sequence[Write]) -> Ticket:
        return DoneTicket()

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class DryDecision:
    """What the cycle's state held at its end, and who decided."""

    state: CycleState
    analyst: str
    market: OpenedMarket
    book: AccountBook
    """The account as the cycle saw it."""


def dry_cycle(
    desk: ChatDesk,
    opened: OpenedMarket,
    recent_orders: Sequence[RecentOrder] = (),
    analyst: Analyst | None = None,
) -> DryDecision:
    """Decide once on `opened`'s last closed candle for the desk's account; nothing is sent,
    stored or changed."""
    settings, account = desk.settings, desk.account_name
    info = opened.info
    history = history_of(opened, HISTORY)
    now = market_now(desk, opened)
    book = read_account(desk, account)
    risk = read_risk(desk, account)
    chosen = analyst or make_analyst(
        settings.analyst or "offline", settings, desk.root, timeframe=info.timeframe
    )
    situations, lessons = _memory(desk, opened)
    writer = DiscardingWriter()
    run_id = f"dry-{uuid.uuid4().hex[:12]}"
    deps = CycleDeps(
        run_id=run_id,
        history=history,
        clock=SimulatedClock(now),
        broker=DryBroker(book.portfolio, book.pending),
        analyst=chosen,
        breakers=BreakerBoard(risk.store, account, settings.breakers),
        limits=settings.risk,
        breaker_limits=settings.breakers,
        traces=TraceStore(
            cast(Any, None),
            run_id,
            embedder=HashingEmbedder(),
            batch_size=NEVER_FLUSH,
            writer=writer,
        ),
        situations=SituationMemory(
            None,
            symbol=info.symbol,
            scope=memory_scope(info),
            prior=situations,
            enabled=settings.memory.enabled,
            writer=writer,
        ),
        lessons=LessonMemory(
            None,
            None,
            prior=lessons,
            enabled=settings.memory.enabled,
            scope=memory_scope(info),
            writer=writer,
        ),
        journal=CycleJournal(recent_orders=deque(recent_orders)),
        recall_k=settings.recall_k,
        lesson_k=settings.memory.lesson_k,
        market_key=market_key(info),
        order_id_scope=f"dry:{account}",
    )
    graph = build_decision_graph(deps, dry=True)
    state: CycleState = graph.invoke({"seq": 0})
    return DryDecision(state=state, analyst=chosen.name, market=opened, book=book)


def _memory(desk: ChatDesk, opened: OpenedMarket) -> tuple[list[Any], list[Any]]:
    """The situations and lessons of this market's world and timeframe the store holds (the
    cycle releases those known by its close); none when memory is off or there is no store."""
    settings = desk.settings
    url = settings.chroma_url
    if not settings.memory.enabled or (not url and not (desk.root / "chroma").is_dir()):
        return [], []
    client = open_chroma(desk.root, url)
    try:
        scope = memory_scope(opened.info)
        found = {name: _collection(client, name) for name in (SITUATIONS, LESSONS)}
        situations = load_situations(found[SITUATIONS], scope) if found[SITUATIONS] else []
        lessons = load_lessons(found[LESSONS], scope) if found[LESSONS] else []
    finally:
        if not url:
            release_chroma(client)
    return list(situations), list(lessons)


def _collection(client: Any, name: str) -> Any:
    try:
        return client.get_collection(name, embedding_function=None)
    except Exception:
        return None
