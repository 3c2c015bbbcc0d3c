"""Opening a session's memory: spools left by a crashed process are flushed, chain intact."""

from core.types import MarketInfo
from memory.audit import verify_run
from memory.embeddings import HashingEmbedder
from memory.session_stores import open_memory
from memory.spool import TraceSpool
from memory.store import existing_collection, open_chroma
from memory.traces import TraceStore
from tests.memory.test_traces import make_trace

INFO = MarketInfo(source="synthetic:1", symbol="SYN/USDT", timeframe="1h", synthetic=True)


class _Down:
    def upsert(self, **_):
        raise ConnectionError("store down")


def test_traces_spooled_before_a_crash_are_flushed_when_the_next_run_opens(tmp_path):
    spool = TraceSpool(tmp_path / "spool", "crashed")
    crashed = TraceStore(_Down(), "crashed", embedder=HashingEmbedder(), spool=spool)
    for i in range(4):
        crashed.append(make_trace(i, "crashed"))
    crashed.flush()  # the store was down: all four went to the spool, then the process died
    assert spool.path.exists()
    spool.release()

    open_memory(tmp_path, "next", INFO, url=None, embedding="hashing", enabled=True, batch_size=8)

    client = open_chroma(tmp_path)
    report = verify_run(
        existing_collection(client, "traces", "test"),
        existing_collection(client, "trace_runs", "test"),
        "crashed",
    )
    assert not spool.path.exists()
    assert report.intact and report.traces == 4
