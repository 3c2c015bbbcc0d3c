"""The nine steps of a decision cycle, each a function of the state and the injected ports
(`graphs.cycle_ports.CycleDeps`).

Each step calls one domain service: observe the market history and its data checks, settle the
settlement (broker, round trips, breakers), learn the learning (outcomes, lessons), features
the quant tools, recall the memories, analyze the analyst, validate the risk validator, execute
the broker, record the trace store.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from agents.base import AnalystResult, ResearchContext
from core.errors import BrokerError, ReplayMismatchError
from core.notifications import breaker_notice, fill_notice
from core.types import (
    Action,
    Approved,
    BreakerEvent,
    MarketSnapshot,
    Proposal,
    RecentOrder,
    RiskContext,
    Trace,
    TraceEvent,
    VerdictKind,
)
from graphs.briefing import build_brief
from graphs.cycle_ports import CycleDeps
from graphs.learning import Learning
from graphs.settlement import Settlement
from graphs.state import CycleState
from memory.situations import situation_id
from memory.traces import trace_id
from risk.validator import flatten, validate
from tools.compliance import ExecutedOrder
from tools.data_checks import check_data
from tools.features import compute_features

DAY_MS = 86_400_000


Node = Callable[[CycleState], dict[str, Any]]


def timed(name: str, step: Node) -> Node:
    """Wrap a step so its wall time lands in the trace's per-node latency."""

    def run(state: CycleState) -> dict[str, Any]:
        started = time.perf_counter()
        update = step(state)
        update["latency_ms"] = {name: round((time.perf_counter() - started) * 1000, 4)}
        return update

    return run


def client_order_id(scope: str, symbol: str, candle_ts: int, leg: str) -> str:
    """Deterministic per scope (a replay's run, a live account), symbol, candle and leg
    ("entry", "flatten"), so a retried submit, a resumed replay or a live process restarted on
    the same candle derives the same id, and the broker finds the order it sent before instead
    of sending a second. 32 characters of [a-z0-9-]: every exchange's client id takes that."""
    digest = hashlib.sha256(f"{scope}|{symbol}|{candle_ts}|{leg}".encode()).hexdigest()
    return f"tg-{digest[:29]}"


class CycleSteps:
    def __init__(self, deps: CycleDeps) -> None:
        self.d = deps
        assert deps.book is not None
        self.settlement = Settlement(
            deps.broker,
            deps.breakers,
            deps.journal.round_trips,
            deps.reviews,
            deps.book,
            deps.traces,
        )
        self.learning = Learning(
            deps.situations, deps.lessons, deps.reflector, deps.traces, deps.market_key
        )

    def observe(self, state: CycleState) -> dict[str, Any]:
        """The market as of the last closed candle, with its data checks."""
        d = self.d
        candle = d.history.last()
        now = d.clock.now_ms()
        assert d.book is not None
        d.book.mark(d.history.info.symbol, candle.close)
        limits = d.breaker_limits
        issues = check_data(d.history, now, limits.stale_after_periods, limits.jump_sigma)
        snapshot = MarketSnapshot(
            info=d.history.info, now_ms=now, last=candle, bars_seen=len(d.history), issues=issues
        )
        return {"snapshot": snapshot, "order": None}

    def settle(self, state: CycleState) -> dict[str, Any]:
        """Fills at this candle into the ledger, round trips, then the breakers after them."""
        settled = self.settlement.settle(state["snapshot"])
        for fill in settled.fills:
            self.d.notifier.notify(fill_notice(fill, self.d.account))
        return {
            "fills": settled.fills,
            "closed": settled.closed,
            "breakers": settled.breakers,
            "breaker_events": self._drain_events(),
        }

    def learn(self, state: CycleState) -> dict[str, Any]:
        """Lessons from the positions just closed, outcomes of situations whose horizon passed."""
        self.learning.learn(state["snapshot"], state.get("closed", ()))
        return {}

    def features(self, state: CycleState) -> dict[str, Any]:
        return {"features": compute_features(self.d.history)}

    def recall(self, state: CycleState) -> dict[str, Any]:
        """Similar past situations and lessons, among those known at this close."""
        d = self.d
        features = state["features"]
        if not features.ready:
            return {"recalled": (), "lessons": ()}
        vector = features.vector()
        return {
            "recalled": d.situations.recall(vector, d.recall_k),
            "lessons": d.lessons.recall(vector, d.lesson_k),
        }

    def analyze(self, state: CycleState) -> dict[str, Any]:
        d = self.d
        brief = build_brief(state, d.broker.portfolio, d.limits)
        research = ResearchContext(history=d.history, recall=d.situations.recall)
        recorded = d.replayed(state["seq"]) if d.replayed is not None else None
        try:
            result = recorded if recorded is not None else d.analyst.propose(brief, research)
        except ReplayMismatchError:
            raise  # a replay that left its recording must stop, not read as an outage
        except Exception as exc:  # an analyst bug must not stop the account: HOLD, and count it
            kind = exc.__class__.__name__
            reason = f"analyst failed ({kind}): no proposal this cycle"
            hold = Proposal.hold(brief.symbol, reason)
            result = AnalystResult(proposal=hold, error=reason, error_kind=kind)
        now = state["snapshot"].now_ms
        if result.error is not None:
            d.breakers.record_error("analyst", result.error, now)
        elif result.consulted:  # an answer: the analyst's failures are no longer in a row
            d.breakers.record_success("analyst", now)
        stop = result.budget_exhausted
        if stop is not None:
            d.breakers.record_llm_budget(stop.scope, stop.reason, now)
        d.journal.llm_usage += result.usage
        # A trip here (errors, budget) goes into this cycle's trace, not the next one's.
        events = [*state.get("breaker_events", []), *self._drain_events()]
        return {"analysis": result, "breaker_events": events}

    def validate(self, state: CycleState) -> dict[str, Any]:
        """The validator's verdict; when the breakers demand it, the reduce-only flatten."""
        d, snapshot = self.d, state["snapshot"]
        portfolio, symbol = d.broker.portfolio, snapshot.info.symbol
        candle_ts = snapshot.last.ts
        scope = d.order_id_scope or d.run_id
        order_id = client_order_id(scope, symbol, candle_ts, "entry")
        if state["breakers"].flatten and portfolio.quantity(symbol) > 0:
            verdict = flatten(
                portfolio,
                snapshot,
                symbol,
                snapshot.now_ms,
                client_order_id=client_order_id(scope, symbol, candle_ts, "flatten"),
                context=self._context(state),
            )
            return {"verdict": verdict, "flatten": True}
        proposal = state["analysis"].proposal
        # A HOLD needs no context: skip the ledger read on the hot path.
        context = RiskContext() if proposal.action == Action.HOLD else self._context(state)
        verdict = validate(
            proposal,
            portfolio,
            snapshot,
            d.limits,
            state["breakers"],
            snapshot.now_ms,
            client_order_id=order_id,
            context=context,
        )
        return {"verdict": verdict, "flatten": False}

    @staticmethod
    def route(state: CycleState) -> str:
        return "execute" if isinstance(state["verdict"], Approved) else "record"

    def execute(self, state: CycleState) -> dict[str, Any]:
        d, verdict = self.d, state["verdict"]
        assert isinstance(verdict, Approved)
        portfolio, open_orders = d.broker.portfolio, tuple(d.broker.pending())
        try:
            order = d.broker.submit(verdict)
        except BrokerError as exc:  # refused or unreachable: recorded, counted, no order
            now = state["snapshot"].now_ms
            if exc.counts_as_error:
                d.breakers.record_error(exc.source, str(exc), now)
            d.journal.events.append(TraceEvent(ts=now, kind="order_failed", detail=str(exc)))
            return {"order": None}
        d.journal.recent_orders.append(
            RecentOrder(
                symbol=order.symbol,
                side=order.side,
                quantity=order.quantity,
                created_ms=order.created_ms,
            )
        )
        d.journal.executed.append(
            ExecutedOrder(
                order=order,
                flatten=state.get("flatten", False),
                confidence=state["analysis"].proposal.confidence,
                portfolio=portfolio,
                open_orders=open_orders,
                marks=dict(d.marks),
                state=state["breakers"].state,
                limits=d.limits,
            )
        )
        return {"order": order}

    def record(self, state: CycleState) -> dict[str, Any]:
        d = self.d
        snapshot, features, analysis = state["snapshot"], state["features"], state["analysis"]
        verdict, breakers = state["verdict"], state["breakers"]
        seq = state["seq"]
        order = state.get("order")
        trace = Trace(
            run_id=d.run_id,
            seq=seq,
            ts=snapshot.now_ms,
            symbol=snapshot.info.symbol,
            market_source=snapshot.info.source,
            inputs_hash=_inputs_hash(snapshot),
            features=features.model_dump(mode="json"),
            recalled=tuple(r.id for r in state.get("recalled", ())),
            lessons=tuple(lesson.id for lesson in state.get("lessons", ())),
            analyst=d.analyst.name,
            model=analysis.model,
            prompt_version=analysis.prompt_version,
            messages=analysis.messages,
            llm=analysis.usage.model_dump() if analysis.usage.requests else {},
            proposal=analysis.proposal,
            verdict=VerdictKind(verdict.kind),
            refusals=tuple(str(r) for r in getattr(verdict, "refusals", ())),
            order=order,
            fills=tuple(state.get("fills", ())),
            flatten=state.get("flatten", False),
            trading_state=breakers.state,
            breakers=breakers.demands,
            breaker_events=tuple(state.get("breaker_events", ())),
            equity=d.broker.portfolio.equity(d.marks),
            latency_ms=dict(state.get("latency_ms", {})),
            events=tuple(d.journal.events),
        )
        d.journal.events.clear()
        sealed = d.traces.append(trace)
        moment = situation_id(d.market_key, snapshot.now_ms)
        if order is not None:
            d.reviews.on_order(
                order,
                trace_id=trace_id(d.run_id, seq),
                situation_id=moment,
                features=features,
                thesis=trace.proposal.thesis,
                persona=analysis.persona,
            )
        if features.ready:
            d.situations.remember(
                id=moment,
                ts=snapshot.now_ms,
                vector=features.vector(),
                close=snapshot.price,
                bars=len(d.history),
                stances=analysis.persona_stances,
                trace_id=trace_id(d.run_id, seq),
            )
        return {"trace": sealed}

    def _drain_events(self) -> list[BreakerEvent]:
        """The board's events since the last drain, for the trace; kept for the summary."""
        drained = self.d.breakers.drain_events()
        self.d.journal.breaker_events.extend(drained)
        symbol = self.d.history.info.symbol
        for event in drained:
            notice = breaker_notice(event, self.d.account, symbol)
            if notice is not None:
                self.d.notifier.notify(notice)
        return drained

    def _context(self, state: CycleState) -> RiskContext:
        """What the validator needs beyond the proposal: orders in flight and recent, marks."""
        d, snapshot, features = self.d, state["snapshot"], state["features"]
        recent = d.journal.recent_orders
        while recent and recent[0].created_ms < snapshot.now_ms - DAY_MS:
            recent.popleft()
        assert d.book is not None
        portfolio = d.broker.portfolio
        return RiskContext(
            open_orders=tuple(d.broker.pending()),
            recent_orders=tuple(recent),
            marks=dict(d.marks),
            correlations=d.book.correlations(snapshot.info.symbol, portfolio.positions),
            volatility=features.volatility if features.ready else None,
            rules=d.history.info.rules,
        )


def _inputs_hash(snapshot: MarketSnapshot) -> str:
    """Fingerprint of what the cycle saw, so two replays can be compared step by step."""
    return hashlib.sha256(snapshot.model_dump_json().encode()).hexdigest()[:16]
