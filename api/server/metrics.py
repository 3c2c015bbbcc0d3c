"""`GET /metrics`: Prometheus metrics read from the data directory's stores at scrape time.

Nothing is counted in the request path: `StoreCollector` reads what the runs, agents and the
chat recorded. From the decision traces: decisions by action and verdict, denials by refusal
code, LLM tokens and cost, and the cycle latency histogram (the sum of a cycle's step times,
`Trace.latency_ms`). Traces are read incrementally (those recorded since the last scrape), so
their counters only grow, as Prometheus counters must. From the risk store: each breaker's state
per account (1 holds trading back, 0 not) and drawdown (as the breakers measured it at the last
cycle). From the ledger: orders by status, fills, and equity at cost (positions at their
average entry price: marking them would read the market at every scrape).

A viewer's key reads it: Prometheus sends it as `authorization: Bearer KEY` (README).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, Final

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from api.server.auth import Caller, KeyLookup, caller_with
from core.errors import UserError
from core.settings import with_changed_limits
from graphs.chat.desk_base import ChatDesk
from graphs.chat.desk_stores import known_accounts, open_ledger, read_risk
from graphs.chat.service import ChatEngine
from memory.audit_store import reading_store
from risk.breakers.registry import account_breakers

LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: an offline cycle takes milliseconds, one asking Claude seconds."""
PAGE: Final = 1000
"""Traces read per request to the store."""
CODE: Final = re.compile(r"[A-Z][A-Z0-9_]*")


class TraceTally:
    """What the traces read so far add up to; `add` each trace once."""

    def __init__(self) -> None:
        self.decisions: Counter[tuple[str, str]] = Counter()
        self.denials: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.cost_usd = 0.0
        self.latency_buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    def add(self, meta: Mapping[str, Any]) -> None:
        """Count one stored trace: its filter fields, and the parts of its JSON that the
        metrics need (read as plain JSON: validating the whole trace costs ten times more)."""
        trace = json.loads(str(meta["trace"]))
        self.decisions[(str(meta.get("action", "")), str(meta.get("verdict", "")))] += 1
        for refusal in trace.get("refusals") or ():
            found = CODE.match(str(refusal))
            self.denials[found.group() if found else "UNKNOWN"] += 1
        llm = trace.get("llm") or {}
        for kind in ("input", "output", "cache_read", "cache_creation"):
            self.tokens[kind] += int(llm.get(f"{kind}_tokens", 0) or 0)
        self.cost_usd += float(llm.get("cost_usd", 0.0) or 0.0)
        latency = trace.get("latency_ms") or {}
        if latency:
            seconds = sum(float(ms) for ms in latency.values()) / 1000
            self.latency_sum += seconds
            slot = next(
                (i for i, bound in enumerate(LATENCY_BUCKETS) if seconds <= bound),
                len(LATENCY_BUCKETS),
            )
            self.latency_buckets[slot] += 1

    def metrics(self) -> Iterator[Metric]:
        decisions = CounterMetricFamily(
            "tradegraph_decisions", "Decision cycles recorded.", labels=["action", "verdict"]
        )
        for (action, verdict), count in sorted(self.decisions.items()):
            decisions.add_metric([action, verdict], count)
        denials = CounterMetricFamily(
            "tradegraph_denials", "Refusals of the risk validator, by code.", labels=["code"]
        )
        for code, count in sorted(self.denials.items()):
            denials.add_metric([code], count)
        tokens = CounterMetricFamily(
            "tradegraph_llm_tokens", "LLM tokens of the decision cycles.", labels=["kind"]
        )
        for kind, count in sorted(self.tokens.items()):
            tokens.add_metric([kind], count)
        cost = CounterMetricFamily(
            "tradegraph_llm_cost_usd", "LLM cost of the decision cycles, USD.", value=self.cost_usd
        )
        cumulative, buckets = 0, []
        for bound, count in zip(
            (*map(str, LATENCY_BUCKETS), "+Inf"), self.latency_buckets, strict=True
        ):
            cumulative += count
            buckets.append((bound, float(cumulative)))
        latency = HistogramMetricFamily(
            "tradegraph_cycle_latency_seconds",
            "A decision cycle's time, the sum of its steps' (from the traces).",
            buckets=buckets,
            sum_value=self.latency_sum,
        )
        yield from (decisions, denials, tokens, cost, latency)


class StoreCollector:
    """A Prometheus collector over a desk's data directory, read at each scrape."""

    def __init__(self, desk: ChatDesk) -> None:
        self.desk = desk
        self.tally = TraceTally()
        self.seen_at_mark: set[str] = set()
        self.mark = 0
        """The `recorded_at` of the latest traces counted, and their ids (a batch shares one)."""
        self.lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # collected at scrape time only: registering reads no store

    def collect(self) -> Iterator[Metric]:
        with self.lock:
            self._read_new_traces()
            yield from self.tally.metrics()
        desk = ChatDesk(with_changed_limits(self.desk.settings), market=self.desk.market)
        yield from _account_metrics(desk)

    def _read_new_traces(self) -> None:
        try:
            with reading_store(self.desk.root, self.desk.settings.chroma_url) as store:
                since: dict[str, Any] = {"recorded_at": {"$gte": self.mark}}
                offset = 0
                while True:
                    got = store.traces.get(
                        where=since,
                        include=["metadatas"],
                        limit=PAGE,
                        offset=offset,
                    )
                    self._count(got["ids"], got["metadatas"] or [])
                    if len(got["ids"]) < PAGE:
                        return
                    offset += PAGE
        except UserError:
            return  # no trace store yet: nothing was decided

    def _count(self, ids: list[str], metadatas: list[Any]) -> None:
        for trace_id, meta in zip(ids, metadatas, strict=True):
            recorded = int(meta.get("recorded_at", 0))
            if "trace" not in meta or (recorded == self.mark and trace_id in self.seen_at_mark):
                continue
            if recorded > self.mark:
                self.mark, self.seen_at_mark = recorded, set()
            self.seen_at_mark.add(trace_id)
            self.tally.add(meta)


def _account_metrics(desk: ChatDesk) -> Iterator[Metric]:
    breakers = GaugeMetricFamily(
        "tradegraph_breaker_state",
        "1 while the breaker holds the account's trading back, else 0.",
        labels=["account", "breaker"],
    )
    drawdown = GaugeMetricFamily(
        "tradegraph_drawdown", "Drawdown from the high-water mark (fraction).", labels=["account"]
    )
    equity = GaugeMetricFamily(
        "tradegraph_equity", "Equity at cost (positions at entry price).", labels=["account"]
    )
    orders = GaugeMetricFamily(
        "tradegraph_orders", "Orders in the ledger, by status.", labels=["account", "status"]
    )
    fills = GaugeMetricFamily("tradegraph_fills", "Fills in the ledger.", labels=["account"])
    names = ["kill_switch", *(b.name for b in account_breakers(desk.settings.breakers))]
    for account in known_accounts(desk):
        snapshot = read_risk(desk, account).snapshot
        holding = {demand.breaker for demand in snapshot.demands}
        for name in ["global_kill_switch", *names]:
            breakers.add_metric([account, name], 1.0 if name in holding else 0.0)
        drawdown.add_metric([account], snapshot.drawdown)
        with open_ledger(desk, account) as ledger:
            if ledger is None:
                continue
            equity.add_metric([account], ledger.portfolio.equity({}))
            by_status = Counter(status for _, status in ledger.orders())
            for status, count in sorted(by_status.items()):
                orders.add_metric([account, status], count)
            fills.add_metric([account], len(ledger.fills()))
    yield from (breakers, drawdown, equity, orders, fills)


def metrics_router(engine: ChatEngine, keys: KeyLookup) -> APIRouter:
    """GET /metrics over `engine`'s data directory, for a viewer's key."""
    router = APIRouter(tags=["metrics"])
    viewer = Depends(caller_with(keys, "viewer", "reading the metrics"))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine.desk))

    @router.get("/metrics", response_class=Response)
    def metrics(caller: Caller = viewer) -> Response:
        """Prometheus text format: decisions, denials, breakers, orders, fills, equity,
        drawdown, LLM tokens and cost, cycle latency."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
