import itertools

import pytest

from core.types import GENESIS_HASH, Trace
from memory.store import open_chroma, vector_collection
from memory.traces import TraceStore, load_run, verify_chain


def _trace(seq: int) -> Trace:
    return Trace(
        run_id="run-a",
        seq=seq,
        ts=1_000 * seq,
        symbol="SYN/USDT",
        market_source="synthetic:1",
        inputs_hash="abc",
        features={"close": 100.0 + seq},
        analyst="offline",
        proposal={"action": "HOLD", "thesis": "flat"},
        verdict="hold",
        trading_state="ACTIVE",
        equity=10_000.0,
    )


@pytest.fixture
def collection(tmp_path):
    return vector_collection(open_chroma(tmp_path), "traces")


def test_traces_form_a_hash_chain_that_verifies(collection):
    store = TraceStore(collection, "run-a", batch_size=4)
    sealed = [store.append(_trace(i), [0.1] * 8) for i in range(10)]
    store.flush()

    traces = load_run(collection, "run-a")

    assert [t.seq for t in traces] == list(range(10))
    assert traces[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(sealed))
    assert verify_chain(traces) is None


def test_editing_a_stored_trace_breaks_the_chain_at_that_trace(collection):
    store = TraceStore(collection, "run-a")
    for i in range(5):
        store.append(_trace(i), [0.1] * 8)
    store.flush()
    traces = load_run(collection, "run-a")

    traces[2] = traces[2].model_copy(update={"equity": 1e9})

    assert verify_chain(traces) == 2


def test_dropping_a_trace_breaks_the_chain_after_the_gap(collection):
    store = TraceStore(collection, "run-a")
    for i in range(5):
        store.append(_trace(i), [0.1] * 8)
    store.flush()
    traces = load_run(collection, "run-a")

    del traces[1]

    assert verify_chain(traces) == 2


def test_unflushed_traces_are_written_by_flush(collection):
    store = TraceStore(collection, "run-a", batch_size=100)
    store.append(_trace(0), [0.1] * 8)
    assert collection.count() == 0

    store.flush()

    assert collection.count() == 1
