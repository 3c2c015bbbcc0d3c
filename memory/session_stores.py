"""Everything a session keeps in vector memory, opened together: traces, situations, lessons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.types import MarketInfo
from memory.embeddings import text_embedder
from memory.lessons import COLLECTION as LESSONS
from memory.lessons import LessonMemory, load_lessons
from memory.situations import COLLECTION as SITUATIONS
from memory.situations import SituationMemory, load_situations, market_key, memory_scope
from memory.spool import SpoolBusyError, TraceSpool, pending_spools
from memory.store import open_chroma, vector_collection
from memory.traces import COLLECTION as TRACES
from memory.traces import RUNS_COLLECTION, TraceStore

RUNS_EMBEDDING = "none-1"
"""The head records need no embedding; chroma wants one, so each carries [1.0]."""


@dataclass
class MemoryStores:
    traces: TraceStore
    """One hash chain per run, whatever the number of symbols."""
    situations: dict[str, SituationMemory]
    """Per symbol: situations are a market's own moments."""
    lessons: LessonMemory
    location: str
    """Where the store is: the chroma folder, or the server's URL."""
    market_keys: dict[str, str]

    def close(self) -> None:
        """Write everything still buffered; the trace spool is released for a later run."""
        self.traces.close()
        for situations in self.situations.values():
            situations.flush()
        self.lessons.flush()


def open_memory(
    data_dir: Path,
    run_id: str,
    markets: MarketInfo | Sequence[MarketInfo],
    *,
    url: str | None,
    embedding: str,
    enabled: bool,
    batch_size: int,
) -> MemoryStores:
    """Open (or create) the collections, flush traces an earlier process spooled, and load
    earlier runs' situations and lessons (released point in time) when memory is on.
    Lessons are shared by the markets of one world and timeframe (the first market's scope)."""
    infos = [markets] if isinstance(markets, MarketInfo) else list(markets)
    client = open_chroma(data_dir, url)
    embedder = text_embedder(embedding)
    text_kind = f"{embedder.name}-{embedder.dim}"
    traces = vector_collection(client, TRACES, embedding=text_kind)
    runs = vector_collection(client, RUNS_COLLECTION, embedding=RUNS_EMBEDDING)
    situations = vector_collection(client, SITUATIONS)
    lessons = vector_collection(client, LESSONS, embedding=text_kind)
    spool_dir = data_dir / "spool"
    for earlier in pending_spools(spool_dir):  # this run's own too, when it is resumed
        try:
            spool = TraceSpool(spool_dir, earlier)
        except SpoolBusyError:
            continue  # that run is still going: it flushes its own spool
        TraceStore(traces, earlier, embedder=embedder, runs=runs, spool=spool).close()
    scope = memory_scope(infos[0])
    if any(memory_scope(info) != scope for info in infos):
        raise ValueError("the markets of one run must share a world and a timeframe")
    prior = load_situations(situations, scope) if enabled else ()
    return MemoryStores(
        traces=TraceStore(
            traces,
            run_id,
            embedder=embedder,
            runs=runs,
            spool=TraceSpool(spool_dir, run_id),
            batch_size=batch_size,
        ),
        situations={
            info.symbol: SituationMemory(
                situations,
                symbol=info.symbol,
                scope=scope,
                prior=prior,
                enabled=enabled,
            )
            for info in infos
        },
        lessons=LessonMemory(
            lessons,
            embedder,
            prior=load_lessons(lessons, scope) if enabled else (),
            enabled=enabled,
            scope=scope,
        ),
        location=url or str(data_dir / "chroma"),
        market_keys={info.symbol: market_key(info) for info in infos},
    )
