"""Everything a session keeps in vector memory, opened together: traces, situations, lessons."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, ParamSpec

from core.errors import UserError
from core.run_registry import RunRegistry
from core.text import shown
from core.types import MarketInfo
from memory.embeddings import text_embedder
from memory.lessons import COLLECTION as LESSONS
from memory.lessons import LessonMemory, load_lessons
from memory.situations import COLLECTION as SITUATIONS
from memory.situations import SituationMemory, load_situations, market_key, memory_scope
from memory.spool import SpoolBusyError, TraceSpool, pending_spools
from memory.store import open_chroma, release_chroma, sole_client, vector_collection
from memory.store_repair import MemoryStoreDamagedError
from memory.traces import COLLECTION as TRACES
from memory.traces import RUNS_COLLECTION, TraceStore
from memory.writer import InlineWriter, ProcessWriter, StoreWriter

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

WriterChoice = Literal["auto", "process", "inline"]
PROCESS_WRITER_MIN_CYCLES = 2_000
"""`auto` starts a writer process for replays at least this long (it costs a second or two of
start-up on the other core, and saves about a millisecond per cycle on this one)."""

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
    writer: StoreWriter
    """Who writes to the store: this process, or a writer process beside it."""
    registry: RunRegistry | None = None
    """Where the run was registered at start, and is sealed at close."""

    def close(self) -> None:
        """Write everything still buffered and wait until it is written (or, for traces,
        spooled); the trace spool is released for a later run, and the run is sealed in the
        registry with its chain's head."""
        try:
            for situations in self.situations.values():
                situations.flush()
            self.lessons.flush()
            self.traces.close()
            for situations in self.situations.values():
                situations.settle()
            self.lessons.settle()
        finally:
            self.writer.close()
        if self.registry is not None:
            seq, head = self.traces.chain_end
            with contextlib.suppress(UserError):  # unsealed reads as killed, never as altered
                self.registry.seal(self.traces.run_id, seq, head)


P = ParamSpec("P")


def _damaged_store_in_one_line(
    open_stores: Callable[P, MemoryStores],
) -> Callable[P, MemoryStores]:
    """A store chromadb cannot read is one line saying what to do, not a traceback. A vector
    index a killed writer tore is rebuilt when the store opens (`memory.store_repair`); this is
    for what remains, such as a damaged SQLite file."""

    @functools.wraps(open_stores)
    def opened(*args: P.args, **kwargs: P.kwargs) -> MemoryStores:
        import chromadb.errors

        try:
            return open_stores(*args, **kwargs)
        except chromadb.errors.InternalError as exc:
            where = kwargs.get("url") or str(Path(str(args[0])) / "chroma")
            raise MemoryStoreDamagedError(
                f"the memory store {where} cannot be read "
                f"({shown(str(exc), one_line=True)[:160]}): move that folder aside (kept for "
                "the audit) and the next run starts its traces and memory afresh"
            ) from None

    return opened


@_damaged_store_in_one_line
def open_memory(
    data_dir: Path,
    run_id: str,
    markets: MarketInfo | Sequence[MarketInfo],
    *,
    url: str | None,
    embedding: str,
    enabled: bool,
    batch_size: int,
    writer: WriterChoice = "inline",
    cycles: int | None = None,
) -> MemoryStores:
    """Open (or create) the collections, flush traces an earlier process spooled, and load
    earlier runs' situations and lessons (released point in time) when memory is on.
    Lessons are shared by the markets of one world and timeframe (the first market's scope).

    `writer` says who writes during the run: `inline` this process; `process` a writer
    process (`memory.writer`), for an embedded store only (a Chroma server is always written
    inline), batched or, as a live run asks, one trace at a time; `auto` a process when the
    run is batched and expected to take at least PROCESS_WRITER_MIN_CYCLES `cycles`."""
    infos = [markets] if isinstance(markets, MarketInfo) else list(markets)
    client = open_chroma(data_dir, url)
    embedder = text_embedder(embedding)
    text_kind = f"{embedder.name}-{embedder.dim}"
    traces = vector_collection(client, TRACES, embedding=text_kind)
    runs = vector_collection(client, RUNS_COLLECTION, embedding=RUNS_EMBEDDING)
    situations = vector_collection(client, SITUATIONS)
    lessons = vector_collection(client, LESSONS, embedding=text_kind)
    registry = _register(data_dir, run_id, runs)
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
    prior_lessons = load_lessons(lessons, scope) if enabled else ()
    collections = {TRACES: traces, RUNS_COLLECTION: runs, SITUATIONS: situations, LESSONS: lessons}
    store_writer: StoreWriter = InlineWriter(collections, embedder)
    if _use_process(writer, url, batch_size, cycles) and sole_client(client):
        store_writer = ProcessWriter(
            data_dir,
            [TRACES, RUNS_COLLECTION, SITUATIONS, LESSONS],
            embedding,
            before_first_write=lambda: release_chroma(client),
        )
    return MemoryStores(
        traces=TraceStore(
            traces,
            run_id,
            embedder=embedder,
            runs=runs,
            spool=TraceSpool(spool_dir, run_id),
            batch_size=batch_size,
            writer=store_writer,
            on_written=lambda seq, head: _mark(registry, run_id, seq, head),
        ),
        situations={
            info.symbol: SituationMemory(
                situations,
                symbol=info.symbol,
                scope=scope,
                prior=prior,
                enabled=enabled,
                writer=store_writer,
            )
            for info in infos
        },
        lessons=LessonMemory(
            lessons,
            embedder,
            prior=prior_lessons,
            enabled=enabled,
            scope=scope,
            writer=store_writer,
        ),
        location=url or str(data_dir / "chroma"),
        market_keys={info.symbol: market_key(info) for info in infos},
        writer=store_writer,
        registry=registry,
    )


def _register(data_dir: Path, run_id: str, runs: Collection) -> RunRegistry:
    """Register the run before its first trace. A registry created now first adopts the
    runs already in the store, at their head records, so none of them reads as unknown."""
    registry = RunRegistry(data_dir)
    if not registry.exists():
        got = runs.get(include=["metadatas"])
        registry.adopt(
            (str(i), int(m.get("head_seq", -1)), str(m.get("head_hash", "")))  # type: ignore[arg-type]
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            if m.get("head_hash")
        )
    registry.open_run(run_id)
    return registry


def _mark(registry: RunRegistry, run_id: str, seq: int, head: str) -> None:
    with contextlib.suppress(UserError):  # a mark strengthens the audit; trading goes on
        registry.mark(run_id, seq, head)


def _use_process(
    writer: WriterChoice, url: str | None, batch_size: int, cycles: int | None
) -> bool:
    if url is not None or writer == "inline":
        return False
    if batch_size <= 1 and writer != "process":
        return False
    if multiprocessing.current_process().daemon:  # a daemonic process may not start children
        return False
    return writer == "process" or (cycles or 0) >= PROCESS_WRITER_MIN_CYCLES
