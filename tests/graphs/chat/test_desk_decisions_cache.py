"""The desk's decision reader keeps its index in the data directory's cache: a reader opened
again (a restarted server) starts from it and reads only the traces written since."""

from __future__ import annotations

from pathlib import Path

from core.types import Trace
from graphs.chat.desk import ChatDesk
from graphs.chat.desk_decisions import DecisionQuery, DecisionReader, decisions_page
from memory.decision_cache import cache_file
from memory.embeddings import text_embedder
from memory.session_stores import RUNS_EMBEDDING
from memory.store import open_chroma, release_chroma, vector_collection
from memory.traces import COLLECTION, RUNS_COLLECTION, TraceStore
from tests.graphs.chat.conftest import desk_settings

START = 1_700_000_000_000
MINUTE = 60_000


def hold(run_id: str, seq: int) -> Trace:
    return Trace(
        run_id=run_id, seq=seq, ts=START + seq * MINUTE, symbol="ETH/USDT",
        market_source="test", inputs_hash=f"{seq:08x}", features={}, analyst="offline",
        proposal={"action": "HOLD", "symbol": "ETH/USDT"}, verdict="hold",
        trading_state="ACTIVE", equity=5_000.0,
    )  # fmt: skip


def write_traces(data: Path, run_id: str, seqs: range) -> None:
    embedder = text_embedder("hashing")
    client = open_chroma(data)
    try:
        store = TraceStore(
            vector_collection(client, COLLECTION, embedding=f"{embedder.name}-{embedder.dim}"),
            run_id,
            embedder=embedder,
            runs=vector_collection(client, RUNS_COLLECTION, embedding=RUNS_EMBEDDING),
        )
        for seq in seqs:
            store.append(hold(run_id, seq))
        store.close()
    finally:
        release_chroma(client)


def test_a_reader_opened_again_reads_only_the_new_traces(tmp_path: Path) -> None:
    write_traces(tmp_path, "r", range(20))
    first = DecisionReader(ChatDesk(desk_settings(tmp_path)))
    first.refreshed()
    first.close()
    write_traces(tmp_path, "r", range(20, 23))

    again = DecisionReader(ChatDesk(desk_settings(tmp_path)))
    try:
        page = decisions_page(again, DecisionQuery(), offset=0, limit=2)
    finally:
        again.close()

    assert cache_file(tmp_path).is_file()
    assert first.index.records_read == 20 and again.index.records_read == 3
    assert page.total == 23 and [line.seq for line in page.decisions] == [22, 21]
