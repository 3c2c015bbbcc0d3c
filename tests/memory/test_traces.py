"""The trace store and its audit: hash chains, tamper detection, spooling, outcomes, pruning."""

import itertools
import json
import math
import time

import pytest

from core.types import (
    GENESIS_HASH,
    Action,
    BreakerDemand,
    BreakerEvent,
    BreakerStage,
    Fill,
    Order,
    OrderType,
    Proposal,
    Side,
    Trace,
    TradingState,
    VerdictKind,
)
from core.types.trace import _ProposalFields
from memory.audit import prune_run, repair_head, verify_run
from memory.embeddings import HashingEmbedder
from memory.spool import SpoolBusyError, TraceSpool
from memory.store import open_chroma, vector_collection
from memory.traces import TraceStore, headline, load_run, trace_id, verify_chain

EMBEDDER = HashingEmbedder()


def make_trace(seq: int, run_id: str = "run-a", action: Action = Action.HOLD) -> Trace:
    return Trace(
        run_id=run_id,
        seq=seq,
        ts=1_000 * seq,
        symbol="SYN/USDT",
        market_source="synthetic:1",
        inputs_hash="abc",
        features={"close": 100.0 + seq},
        analyst="offline",
        proposal=Proposal(action=action, symbol="SYN/USDT", thesis=f"flat at {seq}"),
        verdict=VerdictKind.HOLD,
        trading_state=TradingState.ACTIVE,
        equity=10_000.0,
    )


def _fill(client_order_id: str, side: Side = Side.SELL) -> Fill:
    return Fill(
        client_order_id=client_order_id,
        symbol="SYN/USDT",
        side=side,
        quantity=2.0,
        price=95.5,
        fee=0.19,
        ts=7_000,
    )


@pytest.fixture
def client(tmp_path):
    return open_chroma(tmp_path)


@pytest.fixture
def collections(client):
    return (
        vector_collection(client, "traces", embedding="hashing-256"),
        vector_collection(client, "trace_runs", embedding="none-1"),
    )


def _store(collections, run_id="run-a", **kwargs):
    traces, runs = collections
    return TraceStore(traces, run_id, embedder=EMBEDDER, runs=runs, **kwargs)


def _write(collections, n, run_id="run-a", **kwargs):
    store = _store(collections, run_id, **kwargs)
    sealed = [store.append(make_trace(i, run_id)) for i in range(n)]
    store.flush()
    return store, sealed


def test_traces_form_a_hash_chain_that_verifies(collections):
    _, sealed = _write(collections, 10, batch_size=4)

    traces = load_run(collections[0], "run-a")
    report = verify_run(*collections, "run-a")

    assert [t.seq for t in traces] == list(range(10))
    assert traces[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(sealed))
    assert verify_chain(traces) is None
    assert report.intact and report.traces == 10 and report.head == sealed[-1].hash


def _edit_metadata(collection, which, **changes):
    tid = trace_id("run-a", which)
    meta = collection.get(ids=[tid], include=["metadatas"])["metadatas"][0]
    collection.update(ids=[tid], metadatas=[{**meta, **changes}])


def test_editing_the_stored_trace_is_caught_at_that_trace(collections):
    _write(collections, 5)
    traces, _ = collections
    stored = json.loads(
        traces.get(ids=[trace_id("run-a", 2)], include=["metadatas"])["metadatas"][0]["trace"]
    )
    stored["equity"] = 1e9

    _edit_metadata(traces, 2, trace=json.dumps(stored))
    report = verify_run(*collections, "run-a")

    assert report.broken_seq == 2 and "edited" in report.reason


def test_editing_a_trace_and_rehashing_it_is_caught_at_the_next_link(collections):
    _write(collections, 5)
    traces, _ = collections
    forged = load_run(traces, "run-a")[2].model_copy(update={"equity": 1e9})
    forged = forged.model_copy(update={"hash": forged.compute_hash()})

    _edit_metadata(traces, 2, trace=forged.model_dump_json(), hash=forged.hash)
    report = verify_run(*collections, "run-a")

    assert report.broken_seq == 3 and "link" in report.reason


@pytest.mark.parametrize(
    ("field", "value"), [("action", "BUY"), ("symbol", "BTC/USDT"), ("ts", 42), ("verdict", "x")]
)
def test_editing_a_filter_field_is_caught(collections, field, value):
    _write(collections, 4)

    _edit_metadata(collections[0], 1, **{field: value})
    report = verify_run(*collections, "run-a")

    assert report.broken_seq == 1 and field in report.reason


def test_editing_the_searchable_headline_is_caught(collections):
    _write(collections, 4)
    traces, _ = collections

    forged = "SYN/USDT BUY approved: all in"
    traces.update(
        ids=[trace_id("run-a", 3)], documents=[forged], embeddings=EMBEDDER.embed([forged])
    )
    report = verify_run(*collections, "run-a")

    assert report.broken_seq == 3 and "headline" in report.reason


def test_dropping_a_trace_is_caught_at_the_hole(collections):
    _write(collections, 5)

    collections[0].delete(ids=[trace_id("run-a", 1)])
    report = verify_run(*collections, "run-a")

    assert report.broken_seq == 1 and "missing" in report.reason


def test_dropping_the_newest_traces_is_caught_by_the_head_record(collections):
    _write(collections, 5)

    collections[0].delete(ids=[trace_id("run-a", 3), trace_id("run-a", 4)])
    report = verify_run(*collections, "run-a")

    assert not report.intact and "head record" in report.reason


def test_unflushed_traces_are_written_by_flush(collections):
    store = _store(collections, batch_size=100)
    store.append(make_trace(0))
    assert collections[0].count() == 0

    store.flush()

    assert collections[0].count() == 1


def test_outcomes_reach_the_trace_metadata_without_touching_the_chain(collections):
    store, _ = _write(collections, 3)

    store.annotate_outcome(trace_id("run-a", 1), {"outcome_24": -0.02})
    store.flush()
    meta = collections[0].get(ids=[trace_id("run-a", 1)], include=["metadatas"])["metadatas"][0]

    assert meta["outcome_24"] == pytest.approx(-0.02)
    assert verify_run(*collections, "run-a").intact


def test_an_outcome_known_before_its_trace_is_flushed_is_written_with_it(collections):
    store = _store(collections, batch_size=10)
    for i in range(4):
        store.append(make_trace(i))

    store.annotate_outcome(trace_id("run-a", 0), {"outcome_1": 0.01, "outcome_24": -0.02})
    store.flush()
    meta = collections[0].get(ids=[trace_id("run-a", 0)], include=["metadatas"])["metadatas"][0]

    assert meta["outcome_1"] == pytest.approx(0.01) and meta["outcome_24"] == pytest.approx(-0.02)
    assert verify_run(*collections, "run-a").intact


def test_headline_names_a_stop_loss_fill_and_the_breakers():
    reason = "drawdown 6% from the high-water mark: sizes halved"
    trace = make_trace(1).model_copy(
        update={
            "fills": (_fill("stop-SYN-1"),),
            "breakers": (
                BreakerDemand(breaker="drawdown", stage=BreakerStage.SIZE_CUT, reason=reason),
            ),
        }
    )

    text = headline(trace)

    assert "filled stop-loss sell 2 at 95.5" in text
    assert "drawdown size_cut: drawdown 6% from the high-water mark: sizes halved" in text


def test_a_trace_reads_back_typed_from_the_store(collections):
    order = Order(
        client_order_id="tg-run-a-1",
        symbol="SYN/USDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        quantity=1.5,
        reference_price=100.0,
        stop_price=97.0,
        created_ms=1_000,
    )
    event = BreakerEvent(
        ts=1_000,
        kind="trip",
        breaker="drawdown",
        stage=BreakerStage.REDUCING,
        reason="drawdown 10.20% >= reducing at 10.00%: exits only",
        account="paper-1",
    )
    demand = BreakerDemand(breaker="drawdown", stage=BreakerStage.REDUCING, reason=event.reason)
    written = make_trace(1, action=Action.SELL).model_copy(
        update={
            "verdict": VerdictKind.APPROVED,
            "order": order,
            "fills": (_fill("tg-run-a-0", Side.BUY),),
            "trading_state": TradingState.REDUCING,
            "breakers": (demand,),
            "breaker_events": (event,),
        }
    )
    store = _store(collections)
    store.append(make_trace(0))
    store.append(written)
    store.flush()

    read = load_run(collections[0], "run-a")[1]

    assert read.order == order and read.fills == written.fills
    assert read.breakers == (demand,) and read.breaker_events == (event,)
    assert read.verdict is VerdictKind.APPROVED and read.trading_state is TradingState.REDUCING
    assert read.proposal.action is Action.SELL
    assert verify_run(*collections, "run-a").intact


def test_a_proposal_that_broke_its_constraints_is_recorded_as_sent_and_verifies(collections):
    absurd = Proposal.model_construct(
        action=Action.BUY, symbol="SYN/USDT", size_fraction=math.nan, confidence=5.0
    )
    infinite = Proposal(action=Action.BUY, symbol="SYN/USDT", size_fraction=math.inf)
    store = _store(collections)
    store.append(make_trace(0).model_copy(update={"proposal": absurd, "equity": math.nan}))
    store.append(make_trace(1).model_copy(update={"proposal": infinite}))
    store.flush()

    first, second = load_run(collections[0], "run-a")
    meta = collections[0].get(ids=[trace_id("run-a", 0)], include=["metadatas"])["metadatas"][0]

    assert json.loads(meta["trace"])["proposal"]["size_fraction"] is None  # JSON has no NaN
    assert math.isnan(first.proposal.size_fraction) and first.proposal.confidence == 5.0
    assert first.proposal.action is Action.BUY and math.isnan(first.equity)
    assert math.isnan(second.proposal.size_fraction)
    assert verify_run(*collections, "run-a").intact


def test_a_recorded_proposal_has_every_field_of_a_proposal():
    assert list(_ProposalFields.model_fields) == list(Proposal.model_fields)


class _Unreachable:
    """A collection whose server has gone away."""

    def upsert(self, **_):
        raise ConnectionError("server unreachable")

    update = upsert


def test_a_store_outage_spools_traces_and_the_next_flush_writes_them_in_order(
    collections, tmp_path
):
    traces, runs = collections
    spool = TraceSpool(tmp_path / "spool", "run-a")
    down = TraceStore(
        _Unreachable(), "run-a", embedder=EMBEDDER, runs=runs, spool=spool, batch_size=2
    )
    for i in range(5):
        down.append(make_trace(i))
    down.flush()
    assert down.spooled == 5 and "unreachable" in down.last_error
    spool.release()  # the failing process is gone; the next one takes the spool over

    back = TraceStore(
        traces, "run-a", embedder=EMBEDDER, runs=runs, spool=TraceSpool(tmp_path / "spool", "run-a")
    )
    back.last_hash = down.last_hash
    back.count = down.count
    back.append(make_trace(5))
    back.flush()

    assert back.spooled == 0 and not spool.path.exists()
    assert [t.seq for t in load_run(traces, "run-a")] == list(range(6))
    assert verify_run(traces, runs, "run-a").intact


def test_spooled_traces_are_fsynced_lines_that_survive_a_restart(tmp_path):
    spool = TraceSpool(tmp_path, "run-a")
    spool.append([make_trace(0), make_trace(1)])
    with spool.path.open("a") as f:
        f.write('{"run_id": "run-a", "seq": 2, "ts"')  # a crash in the middle of a write
    spool.release()

    reopened = TraceSpool(tmp_path, "run-a")

    assert [t.seq for t in reopened.read()] == [0, 1]


def test_pruning_keeps_the_chain_verifiable_through_its_anchor(collections):
    _write(collections, 6)
    traces, runs = collections
    future = int(time.time() * 1000) + 60_000

    result = prune_run(traces, runs, "run-a", recorded_before_ms=future)
    report = verify_run(traces, runs, "run-a")

    assert result.removed == 6 and result.anchor_seq == 5
    assert traces.count() == 0
    assert report.intact and report.pruned_through == 5


def test_a_run_that_goes_on_after_pruning_still_verifies(collections):
    store, _ = _write(collections, 4)
    traces, runs = collections
    prune_run(traces, runs, "run-a", recorded_before_ms=int(time.time() * 1000) + 60_000)

    for i in range(4, 7):
        store.append(make_trace(i))
    store.flush()
    report = verify_run(traces, runs, "run-a")

    assert report.intact and report.traces == 3 and report.pruned_through == 3


def test_pruning_nothing_old_changes_nothing(collections):
    _write(collections, 3)

    result = prune_run(*collections, "run-a", recorded_before_ms=0)

    assert result.removed == 0 and collections[0].count() == 3


def test_a_live_runs_spool_is_not_taken_by_another_process(tmp_path):
    live = TraceSpool(tmp_path, "run-a")

    with pytest.raises(SpoolBusyError):
        TraceSpool(tmp_path, "run-a")
    live.release()
    assert TraceSpool(tmp_path, "run-a").count == 0


@pytest.mark.slow
def test_a_spool_larger_than_one_chroma_batch_is_written_back(collections, tmp_path):
    traces, runs = collections
    spool = TraceSpool(tmp_path / "spool", "run-a")
    down = TraceStore(_Unreachable(), "run-a", embedder=EMBEDDER, runs=runs, spool=spool,
                      batch_size=5000)  # fmt: skip
    for i in range(6000):
        down.append(make_trace(i))
    down.flush()
    spool.release()

    back = TraceStore(traces, "run-a", embedder=EMBEDDER, runs=runs,
                      spool=TraceSpool(tmp_path / "spool", "run-a"))  # fmt: skip
    back.flush()

    assert back.spooled == 0 and traces.count() == 6000
    assert verify_run(traces, runs, "run-a").intact


def test_deleting_the_head_record_is_caught(collections):
    _write(collections, 5)
    traces, runs = collections

    runs.delete(ids=["run-a"])
    traces.delete(ids=[trace_id("run-a", 4)])
    report = verify_run(traces, runs, "run-a")

    assert not report.intact and "no head record" in report.reason


def test_a_run_whose_traces_were_all_deleted_is_broken(collections):
    _write(collections, 3)
    traces, runs = collections

    traces.delete(ids=[trace_id("run-a", i) for i in range(3)])
    report = verify_run(traces, runs, "run-a")

    assert not report.intact and "head record" in report.reason


def test_a_rewritten_chain_is_caught_by_a_head_kept_outside_the_store(collections):
    _, sealed = _write(collections, 4)
    traces, runs = collections
    forger = TraceStore(traces, "run-a", embedder=EMBEDDER, runs=runs)
    for i in range(4):  # a whole new chain, head record and all
        forger.append(make_trace(i).model_copy(update={"equity": 1.0}))
    forger.flush()

    inside = verify_run(traces, runs, "run-a")
    outside = verify_run(traces, runs, "run-a", expected_head=sealed[-1].hash)

    assert inside.intact
    assert not outside.intact and "rewritten" in outside.reason


def test_a_seq_field_tampered_into_text_is_reported_not_a_crash(collections):
    _write(collections, 3)

    _edit_metadata(collections[0], 1, seq="1x")
    report = verify_run(*collections, "run-a")

    assert not report.intact and report.broken_seq == 1


def _move_head(runs, seq, head_hash):
    head = runs.get(ids=["run-a"], include=["metadatas"])["metadatas"][0]
    runs.update(ids=["run-a"], metadatas=[{**head, "head_seq": seq, "head_hash": head_hash}])


def test_traces_past_the_head_record_that_chain_on_are_an_interrupted_write(collections):
    _, sealed = _write(collections, 6)
    traces, runs = collections

    _move_head(runs, 3, sealed[3].hash)  # the batch's traces landed, its head record did not
    report = verify_run(traces, runs, "run-a")

    assert not report.intact and not report.altered
    assert report.interrupted_at == 3 and report.end_seq == 5


def test_repair_moves_the_head_record_to_the_end_the_chain_proves(collections):
    _, sealed = _write(collections, 6)
    traces, runs = collections
    _move_head(runs, 3, sealed[3].hash)

    moved = repair_head(runs, verify_run(traces, runs, "run-a"))

    assert moved and verify_run(traces, runs, "run-a").intact


def test_a_head_record_naming_a_hash_the_chain_does_not_hold_is_altered(collections):
    _write(collections, 6)
    traces, runs = collections

    _move_head(runs, 3, "f" * 64)
    report = verify_run(traces, runs, "run-a")

    assert report.altered and not repair_head(runs, report)


def test_a_resume_moves_a_lagging_head_record_to_its_last_sealed_trace(collections):
    _, sealed = _write(collections, 6)
    traces, runs = collections
    _move_head(runs, 3, sealed[3].hash)  # killed between the last batch and its head record
    resumed = _store(collections)

    resumed.catch_up(load_run(traces, "run-a"))

    assert verify_run(traces, runs, "run-a").intact
