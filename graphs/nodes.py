"""The seven steps of a decision cycle, each a function of the state and the injected ports."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from agents.base import Analyst
from core.clock import Clock
from core.market.history import MarketHistory
from core.types import (
    Approved,
    BreakerLimits,
    Brief,
    Candle,
    Fill,
    MarketSnapshot,
    Order,
    Portfolio,
    RiskLimits,
    Trace,
)
from graphs.state import CycleState
from memory.situations import SituationMemory
from memory.traces import TraceStore, trace_id
from risk.breakers.board import BreakerBoard
from risk.validator import validate
from tools.data_checks import check_data
from tools.features import compute_features


class Broker(Protocol):
    """What the execute step needs of a broker: it accepts approvals only."""

    @property
    def portfolio(self) -> Portfolio: ...

    def submit(self, approved: Approved) -> Order: ...

    def on_candle(self, candle: Candle) -> list[Fill]: ...


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
    recall_k: int = 5


Node = Callable[[CycleState], dict[str, Any]]


def timed(name: str, step: Node) -> Node:
    """Wrap a step so its wall time lands in the trace's per-node latency."""

    def run(state: CycleState) -> dict[str, Any]:
        started = time.perf_counter()
        update = step(state)
        update["latency_ms"] = {name: round((time.perf_counter() - started) * 1000, 4)}
        return update

    return run


def client_order_id(run_id: str, seq: int) -> str:
    """Deterministic per run and cycle, so a retried submit cannot create a second order."""
    return f"tg-{run_id}-{seq}"


class CycleSteps:
    def __init__(self, deps: CycleDeps) -> None:
        self.d = deps

    def observe(self, state: CycleState) -> dict[str, Any]:
        d = self.d
        candle = d.history.last()
        now = d.clock.now_ms()
        fills = d.broker.on_candle(candle)
        issues = check_data(d.history, now, d.breaker_limits.stale_after_periods)
        snapshot = MarketSnapshot(
            info=d.history.info, now_ms=now, last=candle, bars_seen=len(d.history), issues=issues
        )
        equity = d.broker.portfolio.equity({snapshot.info.symbol: candle.close})
        breakers = d.breakers.update(equity, snapshot, now)
        events = [f"{e.kind}: {e.reason}" for e in d.breakers.drain_events()]
        return {
            "snapshot": snapshot,
            "fills": fills,
            "breakers": breakers,
            "breaker_events": events,
            "order": None,
        }

    def features(self, state: CycleState) -> dict[str, Any]:
        return {"features": compute_features(self.d.history)}

    def recall(self, state: CycleState) -> dict[str, Any]:
        candle = state["snapshot"].last
        memory = self.d.situations
        memory.observe(bars=len(self.d.history), close=candle.close, low=candle.low)
        features = state["features"]
        if not features.ready:
            return {"recalled": ()}
        return {"recalled": memory.recall(features.vector(), self.d.recall_k)}

    def analyze(self, state: CycleState) -> dict[str, Any]:
        return {"analysis": self.d.analyst.propose(self._brief(state))}

    def validate(self, state: CycleState) -> dict[str, Any]:
        snapshot = state["snapshot"]
        verdict = validate(
            state["analysis"].proposal,
            self.d.broker.portfolio,
            snapshot,
            self.d.limits,
            state["breakers"],
            snapshot.now_ms,
            client_order_id=client_order_id(self.d.run_id, state["seq"]),
        )
        return {"verdict": verdict}

    @staticmethod
    def route(state: CycleState) -> str:
        return "execute" if isinstance(state["verdict"], Approved) else "record"

    def execute(self, state: CycleState) -> dict[str, Any]:
        verdict = state["verdict"]
        assert isinstance(verdict, Approved)
        return {"order": self.d.broker.submit(verdict)}

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
            analyst=d.analyst.name,
            model=analysis.model,
            prompt_version=analysis.prompt_version,
            proposal=analysis.proposal.model_dump(mode="json"),
            verdict=verdict.kind,
            refusals=tuple(str(r) for r in getattr(verdict, "refusals", ())),
            order=order.model_dump(mode="json") if order else None,
            fills=tuple(f.model_dump(mode="json") for f in state.get("fills", [])),
            trading_state=breakers.state.value,
            breaker_reasons=breakers.reasons + tuple(state.get("breaker_events", [])),
            equity=d.broker.portfolio.equity({snapshot.info.symbol: snapshot.price}),
            latency_ms=dict(state.get("latency_ms", {})),
        )
        vector = features.vector()
        sealed = d.traces.append(trace, vector)
        if features.ready:
            d.situations.remember(
                id=trace_id(d.run_id, seq),
                ts=snapshot.now_ms,
                vector=vector,
                close=snapshot.price,
                bars=len(d.history),
            )
        return {"trace": sealed}

    def _brief(self, state: CycleState) -> Brief:
        snapshot, breakers = state["snapshot"], state["breakers"]
        portfolio = self.d.broker.portfolio
        symbol = snapshot.info.symbol
        position = portfolio.positions.get(symbol)
        equity = portfolio.equity({symbol: snapshot.price})
        held_value = (position.quantity * snapshot.price) if position else 0.0
        limits = self.d.limits
        room = min(
            limits.max_position_fraction * equity - held_value,
            limits.max_order_notional,
            portfolio.cash * (1.0 - limits.fee_reserve),
        )
        return Brief(
            symbol=symbol,
            now_ms=snapshot.now_ms,
            price=snapshot.price,
            synthetic=snapshot.info.synthetic,
            features=state["features"],
            position_quantity=position.quantity if position else 0.0,
            position_avg_price=position.avg_price if position else 0.0,
            position_stop=position.stop_loss if position else None,
            cash=portfolio.cash,
            equity=equity,
            trading_state=breakers.state,
            max_buy_fraction=max(0.0, room / equity) if equity > 0 else 0.0,
            min_confidence=limits.min_confidence,
            recalled=state.get("recalled", ()),
        )


def _inputs_hash(snapshot: MarketSnapshot) -> str:
    """Fingerprint of what the cycle saw, so two replays can be compared step by step."""
    return hashlib.sha256(snapshot.model_dump_json().encode()).hexdigest()[:16]
