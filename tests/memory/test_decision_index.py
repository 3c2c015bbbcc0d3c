"""The decision index a long-lived reader keeps: it catches up with a run that wrote more,
with a new run, and with a store that lost traces, and pages newest first under filters."""

from __future__ import annotations

from pathlib import Path

from core.types import BreakerEvent, Trace
from memory.decision_index import DecisionFilter, DecisionIndex
from memory.embeddings import text_embedder
from memory.store import open_chroma, vector_collection
from memory.traces import COLLECTION, RUNS_COLLECTION, TraceStore, trace_id

START = 1_700_000_000_000
HOUR = 3_600_000


def trace(run_id: str, seq: int, ts: int, verdict: str = "hold") -> Trace:
    action = {"hold": "HOLD", "approved": "BUY", "denied": "SELL"}[verdict]
    return Trace(
        run_id=run_id, seq=seq, ts=ts, symbol="BTC/USDT", market_source="test",
        inputs_hash=f"{seq:08x}", features={}, analyst="offline",
        proposal={"action": action, "symbol": "BTC/USDT", "thesis": f"cycle {seq}"},
        verdict=verdict, trading_state="ACTIVE", equity=10_000.0 + seq,
    )  # fmt: skip


class Store:
    def __init__(self, root: Path) -> None:
        self.client = open_chroma(root)
        embedder = text_embedder("hashing")
        kind = f"{embedder.name}-{embedder.dim}"
        self.traces = vector_collection(self.client, COLLECTION, embedding=kind)
        self.runs = vector_collection(self.client, RUNS_COLLECTION, embedding="none-1")
        self.embedder = embedder

    def writer(self, run_id: str) -> TraceStore:
        return TraceStore(self.traces, run_id, embedder=self.embedder, runs=self.runs)

    def write(self, run_id: str, traces: list[Trace]) -> None:
        store = self.writer(run_id)
        for one in traces:
            store.append(one)
        store.close()


def test_the_index_catches_up_with_more_cycles_and_a_new_run(tmp_path: Path) -> None:
    store, index = Store(tmp_path), DecisionIndex()
    run_a = store.writer("a")
    for i in range(3):
        run_a.append(trace("a", i, START + i * HOUR))
    run_a.flush()
    index.refresh(store.traces, store.runs)
    for i in range(3, 5):
        run_a.append(trace("a", i, START + i * HOUR))
    run_a.close()
    store.write("b", [trace("b", 0, START + 10 * HOUR, "approved")])

    index.refresh(store.traces, store.runs)
    page = index.page(DecisionFilter(), offset=0, limit=3)

    assert page.total == 6
    assert [(r.run_id, r.seq) for r in page.rows] == [("b", 0), ("a", 4), ("a", 3)]


def test_a_store_that_lost_traces_is_read_again(tmp_path: Path) -> None:
    store, index = Store(tmp_path), DecisionIndex()
    store.write("a", [trace("a", i, START + i * HOUR) for i in range(4)])
    index.refresh(store.traces, store.runs)
    store.traces.delete(ids=[trace_id("a", 0)])

    index.refresh(store.traces, store.runs)

    assert index.page(DecisionFilter(), offset=0, limit=10).total == 3


def test_pages_filter_by_verdict_runs_and_time_newest_first(tmp_path: Path) -> None:
    store, index = Store(tmp_path), DecisionIndex()
    verdicts = ["hold", "approved", "denied", "approved", "hold", "approved"]
    store.write("a", [trace("a", i, START + i * HOUR, v) for i, v in enumerate(verdicts)])
    index.refresh(store.traces, store.runs)

    approved = index.page(DecisionFilter(verdict="approved"), offset=1, limit=5)
    window = index.page(
        DecisionFilter(ts_from=START + HOUR, ts_to=START + 3 * HOUR), offset=0, limit=10
    )
    other_run = index.page(DecisionFilter(runs={"b"}), offset=0, limit=10)

    assert approved.total == 3 and [r.seq for r in approved.rows] == [3, 1]
    assert [r.seq for r in window.rows] == [3, 2, 1] and window.total == 3
    assert other_run.total == 0 and other_run.rows == []


def test_equity_is_the_latest_points_oldest_first(tmp_path: Path) -> None:
    store, index = Store(tmp_path), DecisionIndex()
    store.write("a", [trace("a", i, START + i * HOUR) for i in range(5)])
    index.refresh(store.traces, store.runs)

    points = index.equity(DecisionFilter(runs={"a"}), limit=2)

    assert [(p.seq, p.equity) for p in points] == [(3, 10_003.0), (4, 10_004.0)]


def test_rows_keep_the_close_refusal_codes_and_breaker_events_for_the_dashboard(
    tmp_path: Path,
) -> None:
    store, index = Store(tmp_path), DecisionIndex()
    tripped = BreakerEvent(
        ts=START, kind="trip", breaker="drawdown", stage="halt", reason="drawdown 21%"
    )
    denied = trace("a", 0, START, "denied").model_copy(
        update={
            "features": {"close": 42_000.5},
            "refusals": ("MAX_POSITION_EXCEEDED: over the cap", "STOP_LOSS_REQUIRED: none"),
            "breaker_events": (tripped,),
        }
    )
    store.write("a", [denied, trace("a", 1, START + HOUR, "denied").model_copy(
        update={"refusals": ("MAX_POSITION_EXCEEDED: again", "no code here")}
    )])  # fmt: skip
    before = index.version()

    index.refresh(store.traces, store.runs)
    first = index.page(DecisionFilter(), offset=0, limit=2).rows[1]

    assert (first.close, first.codes) == (42_000.5, ("MAX_POSITION_EXCEEDED", "STOP_LOSS_REQUIRED"))
    assert first.breaker_events == ("trip drawdown halt: drawdown 21%",)
    assert index.refusal_counts(DecisionFilter()) == {
        "MAX_POSITION_EXCEEDED": 2, "STOP_LOSS_REQUIRED": 1, "UNKNOWN": 1,
    }  # fmt: skip
    assert [r.seq for r in index.breaker_events(DecisionFilter(), limit=5)] == [0]
    assert index.version() > before
