"""The decision index a long-lived reader keeps: it catches up with a run that wrote more,
with a new run, and with a store that lost traces, and pages newest first under filters; its
cache lets a restarted reader read only what is new, and is never trusted when it is damaged,
foreign, or half written."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.types import BreakerEvent, Trace
from memory.decision_cache import (
    FORMAT,
    IndexCache,
    cache_file,
    load_snapshot,
    store_identity,
)
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


def cached(index: DecisionIndex, path: Path, store: Store, every_s: float = 0.0) -> IndexCache:
    cache = IndexCache(path, index, every_s=every_s)
    cache.restore(store.traces, store.runs)
    return cache


def test_a_restart_reads_only_the_traces_written_since_the_cache(tmp_path: Path) -> None:
    store, path = Store(tmp_path), cache_file(tmp_path)
    store.write("a", [trace("a", i, START + i * HOUR) for i in range(5)])
    before = DecisionIndex()
    cache = cached(before, path, store)
    before.refresh(store.traces, store.runs)
    cache.close()
    store.write("a", [trace("a", i, START + i * HOUR) for i in range(5, 7)])
    store.write("b", [trace("b", 0, START + 10 * HOUR, "approved")])

    after = DecisionIndex()
    restored = IndexCache(path, after).restore(store.traces, store.runs)
    after.refresh(store.traces, store.runs)
    page = after.page(DecisionFilter(), offset=0, limit=3)

    assert restored is True
    assert after.records_read == 3
    assert page.total == 8
    assert [(r.run_id, r.seq) for r in page.rows] == [("b", 0), ("a", 6), ("a", 5)]


def test_a_store_pruned_since_the_cache_is_read_again_whole(tmp_path: Path) -> None:
    store, path = Store(tmp_path), cache_file(tmp_path)
    store.write("a", [trace("a", i, START + i * HOUR) for i in range(4)])
    before = DecisionIndex()
    cache = cached(before, path, store)
    before.refresh(store.traces, store.runs)
    cache.close()
    store.traces.delete(ids=[trace_id("a", 0)])

    after = DecisionIndex()
    cached(after, path, store)
    after.refresh(store.traces, store.runs)

    assert after.records_read == 3
    assert [r.seq for r in after.page(DecisionFilter(), offset=0, limit=10).rows] == [3, 2, 1]


@pytest.mark.parametrize(
    "damage",
    [
        lambda body: body[: len(body) // 2],
        lambda body: b"\x00\xff not json",
        lambda body: body.replace(b'"format":%d' % FORMAT, b'"format":99'),
        lambda body: body.replace(b'"seq":[0,1,2]', b'"seq":[0,1]'),
        lambda body: body.replace(b'"run_id":[0,0,0]', b'"run_id":[0,0,7]'),
        lambda body: body.replace(b'"refusal_code_sets":[[]]', b'"refusal_code_sets":[[7]]'),
        lambda body: b"[]",
        lambda body: b"[" * 100_000,
    ],
    ids=[
        "truncated",
        "garbage",
        "other-format",
        "short-column",
        "bad-position",
        "bad-code-set",
        "not-a-cache",
        "nested-too-deep",
    ],
)
def test_a_damaged_cache_is_ignored_and_the_store_read(
    tmp_path: Path, damage: Callable[[bytes], bytes], caplog: pytest.LogCaptureFixture
) -> None:
    store, path = Store(tmp_path), cache_file(tmp_path)
    store.write("a", [trace("a", i, START + i * HOUR) for i in range(3)])
    before = DecisionIndex()
    cache = cached(before, path, store)
    before.refresh(store.traces, store.runs)
    cache.close()
    path.write_bytes(damage(path.read_bytes()))

    after = DecisionIndex()
    with caplog.at_level(logging.DEBUG, logger="memory.decision_cache"):
        restored = IndexCache(path, after).restore(store.traces, store.runs)
    after.refresh(store.traces, store.runs)

    assert restored is False
    assert "ignored" in caplog.text
    assert after.records_read == 3 and after.page(DecisionFilter(), offset=0, limit=9).total == 3


def test_the_cache_of_another_store_is_ignored(tmp_path: Path) -> None:
    other, mine = Store(tmp_path / "other"), Store(tmp_path / "mine")
    other.write("a", [trace("a", i, START + i * HOUR) for i in range(3)])
    mine.write("a", [trace("a", i, START + i * HOUR, "denied") for i in range(3)])
    path = cache_file(tmp_path / "mine")
    foreign = DecisionIndex()
    cache = cached(foreign, path, other)
    foreign.refresh(other.traces, other.runs)
    cache.close()

    index = DecisionIndex()
    restored = IndexCache(path, index).restore(mine.traces, mine.runs)
    index.refresh(mine.traces, mine.runs)

    assert restored is False
    assert {r.verdict for r in index.page(DecisionFilter(), offset=0, limit=9).rows} == {"denied"}


def test_a_write_that_fails_leaves_the_last_whole_cache_and_no_stray_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = Store(tmp_path), cache_file(tmp_path)
    store.write("a", [trace("a", i, START + i * HOUR) for i in range(2)])
    index = DecisionIndex()
    cache = cached(index, path, store)
    index.refresh(store.traces, store.runs)
    cache.close()
    whole = path.read_bytes()
    store.write("a", [trace("a", 2, START + 2 * HOUR)])
    index.refresh(store.traces, store.runs)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    cache.close()

    assert path.read_bytes() == whole
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_changes_are_written_at_most_every_few_seconds_and_the_last_on_close(
    tmp_path: Path,
) -> None:
    store, path = Store(tmp_path), cache_file(tmp_path)
    store.write("a", [trace("a", 0, START)])
    index = DecisionIndex()
    cache = cached(index, path, store, every_s=60.0)
    index.refresh(store.traces, store.runs)
    cache.changed()
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    first = load_snapshot(path, store_identity(store.traces, store.runs))
    store.write("a", [trace("a", 1, START + HOUR)])
    index.refresh(store.traces, store.runs)
    cache.changed()
    time.sleep(0.2)
    waiting = load_snapshot(path, store_identity(store.traces, store.runs))

    cache.close()
    last = load_snapshot(path, store_identity(store.traces, store.runs))

    assert first is not None and waiting is not None and last is not None
    assert len(first.rows) == 1 and len(waiting.rows) == 1
    assert last.heads == {"a": 1} and [r.seq for r in last.rows] == [0, 1]


def test_the_cache_keeps_every_field_of_the_rows(tmp_path: Path) -> None:
    store, path = Store(tmp_path), cache_file(tmp_path)
    tripped = BreakerEvent(ts=START, kind="trip", breaker="drawdown", stage="halt", reason="dd")
    denied = trace("a", 0, START, "denied").model_copy(
        update={
            "features": {"close": 42_000.5},
            "refusals": ("MAX_POSITION_EXCEEDED: over the cap",),
            "breaker_events": (tripped,),
        }
    )
    store.write("a", [denied, trace("a", 1, START + HOUR)])
    before = DecisionIndex()
    cache = cached(before, path, store)
    before.refresh(store.traces, store.runs)
    cache.close()

    after = DecisionIndex()
    IndexCache(path, after).restore(store.traces, store.runs)

    assert after.snapshot()[1:] == before.snapshot()[1:]
    assert after.snapshot()[1][0].codes == ("MAX_POSITION_EXCEEDED",)
