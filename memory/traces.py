"""The trace store: one hash-chained record per decision cycle, written to chromadb in batches.

A record's document is a one-line headline, embedded with the text embedder so that
`tradegraph audit search` finds traces by meaning; the whole trace, as JSON, is in its `trace`
metadata, beside the fields to filter on (run, symbol, time, action, verdict, and the outcome
once the situation's horizon has passed).

Each trace carries the hash of the previous trace of its run, so editing or dropping any stored
trace breaks the chain where it happened; a per-run head record (collection `trace_runs`) holds
the last hash and count, so dropping the newest traces is caught too, and holds the anchor that
a pruned prefix leaves behind.

A batch the store cannot take is spooled locally (see `memory.spool`) and written, in order,
at the next flush that succeeds; `spooled` says how many are waiting. Traces not yet flushed
(at most one batch) live only in memory: a crash loses them, so live runs flush every trace
(`trace_batch_size = 1`). Writes go through a `memory.writer.StoreWriter`: at once in this
process, or (a long replay) in a writer process, where a flushed batch is in flight until the
next flush makes sure it was written (and otherwise spools it with the next batch).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.types import GENESIS_HASH, Trace, canonical_json
from memory.embeddings import TextEmbedder
from memory.spool import TraceSpool
from memory.writer import DoneTicket, InlineWriter, StoreWriteError, StoreWriter, Ticket, Write

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

COLLECTION = "traces"
RUNS_COLLECTION = "trace_runs"
WRITE_CHUNK = 1_000
"""Traces per chroma call: chroma refuses batches above its maximum (5,461 here)."""
STOP_ORDER_PREFIX = "stop-"
"""Client order ids of resting stop-losses filled by the broker."""
RETRY_SECONDS = 5.0
"""While spooling, how often (wall clock) the store is tried again between batches."""
MARK_EVERY = 256
"""Traces written between two marks of the chain's position kept outside the store."""


def trace_id(run_id: str, seq: int) -> str:
    return f"{run_id}:{seq:08d}"


def headline(trace: Trace) -> str:
    """The searchable text of a trace: what was proposed, what was decided and why, what
    filled (a resting stop-loss by name) and what the breakers did."""
    proposal = trace.proposal
    refusals = f" ({'; '.join(trace.refusals)})" if trace.refusals else ""
    text = f"{trace.symbol} {proposal.action} {trace.verdict}{refusals}: {proposal.thesis}"
    for fill in trace.fills:
        kind = "stop-loss " if fill.client_order_id.startswith(STOP_ORDER_PREFIX) else ""
        text += f" | filled {kind}{fill.side} {fill.quantity:.6g} at {fill.price:.6g}"
    if trace.breakers or trace.breaker_events:
        text += " | breakers: " + "; ".join(
            [
                *(f"{d.breaker} {d.stage}: {d.reason}" for d in trace.breakers),
                *(f"{e.kind} {e.breaker} {e.stage}: {e.reason}" for e in trace.breaker_events),
            ]
        )
    return text


def filter_fields(trace: Trace) -> dict[str, Any]:
    """The metadata a stored trace is filtered on; `audit verify` checks them against the
    trace itself, so editing a filter field is tampering too."""
    return {
        "run_id": trace.run_id,
        "seq": trace.seq,
        "ts": trace.ts,
        "symbol": trace.symbol,
        "action": str(trace.proposal.action),
        "verdict": trace.verdict.value,
        "hash": trace.hash,
        "prev_hash": trace.prev_hash,
    }


class TraceStore:
    """Appends sealed traces for one run; buffered, flushed every `batch_size` and on close."""

    def __init__(
        self,
        collection: Collection,
        run_id: str,
        *,
        embedder: TextEmbedder,
        runs: Collection | None = None,
        spool: TraceSpool | None = None,
        batch_size: int = 256,
        clock: Any = time.monotonic,
        writer: StoreWriter | None = None,
        on_written: Callable[[int, str], None] | None = None,
    ) -> None:
        """`on_written(seq, hash)` is told, every MARK_EVERY traces or so, how far the
        chain is written to the store (the run registry keeps it, out of the store's reach)."""
        self._collection = collection
        self._on_written = on_written
        self._marked = -1
        self._writer = writer or InlineWriter(
            {COLLECTION: collection, RUNS_COLLECTION: runs}, embedder
        )
        self._write_head = runs is not None
        self._spool = spool
        self.run_id = run_id
        self._batch_size = batch_size
        self._clock = clock
        self._buffer: list[Trace] = []
        self._outcomes: dict[str, dict[str, float]] = {}
        self._in_flight: _InFlight | None = None
        self._next_retry = 0.0
        self._sealed: list[Trace] = []
        self.last_hash = GENESIS_HASH
        self.count = 0
        self.last_error: str | None = None

    def catch_up(self, sealed: list[Trace]) -> None:
        """A resumed run replays its cycles up to its last sealed trace first: each of those
        cycles is checked against the sealed trace (`same_decision`) and adopts it, so the
        chain carries on unchanged; a cycle that decides otherwise raises ChainDivergedError."""
        self._sealed = list(reversed(sealed))
        if sealed and self._write_head:  # a kill between the traces and their head record
            last = sealed[-1]  # the whole chain was verified: the head may move up to it
            head = {
                "head_hash": last.hash,
                "head_seq": last.seq,
                "updated": int(time.time() * 1000),
            }
            self._writer.submit(
                [Write(RUNS_COLLECTION, [last.run_id], [head], embeddings=[[1.0]])]
            ).result()

    @property
    def catching_up(self) -> bool:
        return bool(self._sealed)

    @property
    def chain_end(self) -> tuple[int, str]:
        """The seq and hash of the chain's last trace: this process's last, or, while a
        resumed run is still catching up, the last one sealed before."""
        if self._sealed:
            return self._sealed[0].seq, self._sealed[0].hash
        return self.count - 1, self.last_hash

    @property
    def collection(self) -> Collection:
        return self._collection

    @property
    def spooled(self) -> int:
        """Traces sealed but only in the local spool, waiting for the store."""
        return self._spool.count if self._spool is not None else 0

    def append(self, trace: Trace) -> Trace:
        """Seal the trace onto the chain and queue it for writing; returns the sealed trace."""
        if self._sealed:
            return self._adopt(trace, self._sealed.pop())
        sealed = trace.sealed(self.last_hash)
        self.last_hash = sealed.hash
        self._buffer.append(sealed)
        self.count += 1
        if len(self._buffer) >= self._batch_size or (
            self.spooled and self._clock() >= self._next_retry
        ):
            self.flush()
        return sealed

    def _adopt(self, trace: Trace, sealed: Trace) -> Trace:
        as_stored = Trace.model_validate_json(trace.model_dump_json())  # NaN is stored as null
        difference = decision_difference(as_stored, sealed)
        if difference is not None:
            raise ChainDivergedError(
                f"resuming run {self.run_id}: cycle {sealed.seq} decides differently from its "
                f"sealed trace ({difference}); the code, settings or data changed since the run "
                "started, so it cannot be continued exactly: start a new run"
            )
        self.last_hash = sealed.hash
        self.count += 1
        return sealed

    def close(self) -> None:
        """Flush and wait until everything is written (or spooled), then give up the spool
        (another process may take over what is left)."""
        self.flush()
        self._settle([])
        if self._spool is not None:
            self._spool.release()

    def annotate_outcome(self, trace_id: str, outcome: Mapping[str, float]) -> None:
        """Attach a situation's outcome to its trace's metadata (not hashed: it is learned
        after the cycle), for filters such as `outcome_24 < 0`. A trace still waiting in the
        buffer is written with it; one already written is updated at the next flush."""
        self._outcomes[trace_id] = dict(outcome)

    def flush(self) -> None:
        """Write the buffer (after any spooled traces, in order); on failure, spool the buffer
        and go on. Writes are upserts by trace id, so writing a spooled trace again after a
        failure halfway through is harmless."""
        batch, self._buffer = self._buffer, []
        if not self._settle(batch):
            return
        try:
            if self._spool is not None and self._spool.count:
                self._write(self._spool.read()).result()
                self._spool.clear()
        except Exception as exc:
            self._failed(batch, exc)
            return
        if not batch and not self._outcomes:
            self.last_error = None
            return
        try:
            written = self._write(batch)
        except Exception as exc:
            self._failed(batch, exc)
            return
        outcomes, self._outcomes = self._outcomes, {}
        written_ids = {trace_id(t.run_id, t.seq) for t in batch}
        later = {i: outcome for i, outcome in outcomes.items() if i not in written_ids}
        annotated = self._writer.submit(_outcome_writes(later)) if later else DoneTicket()
        self._in_flight = _InFlight(written, batch, annotated, outcomes)
        if not self._writer.deferred:
            self._settle([])

    def _settle(self, batch: list[Trace]) -> bool:
        """Wait for the batch in flight; if it was not written, spool it (before `batch`,
        which is spooled with it). False if anything was spooled."""
        flight, self._in_flight = self._in_flight, None
        if flight is None:
            return True
        try:
            flight.written.result()
        except Exception as exc:
            self._outcomes = {**flight.outcomes, **self._outcomes}
            self._failed([*flight.traces, *batch], exc)
            return False
        self.last_error = None
        self._mark(flight.traces)
        try:
            flight.annotated.result()
        except Exception as exc:  # annotations only: kept for the next flush
            self._outcomes = {**flight.outcomes, **self._outcomes}
            self.last_error = _describe(exc)
        return True

    def _mark(self, written: list[Trace]) -> None:
        if self._on_written is None or not written:
            return
        last = written[-1]
        if last.seq - self._marked >= MARK_EVERY:
            self._on_written(last.seq, last.hash)
            self._marked = last.seq

    def _failed(self, batch: list[Trace], exc: Exception) -> None:
        self.last_error = _describe(exc)
        self._next_retry = self._clock() + RETRY_SECONDS
        if self._spool is None:
            raise exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
        self._spool.append(batch)

    def _write(self, traces: list[Trace]) -> Ticket:
        """Submit the traces: upserts in chunks chroma accepts (it refuses batches above its
        maximum), then the run's head record moved to the last trace. The writer embeds the
        headlines."""
        if not traces:
            return DoneTicket()
        recorded = int(time.time() * 1000)
        writes = []
        for start in range(0, len(traces), WRITE_CHUNK):
            batch = traces[start : start + WRITE_CHUNK]
            writes.append(
                Write(
                    COLLECTION,
                    ids=[trace_id(t.run_id, t.seq) for t in batch],
                    documents=[headline(t) for t in batch],
                    metadatas=[self._metadata(t, recorded) for t in batch],
                )
            )
        if self._write_head:
            last = traces[-1]
            head = {"head_hash": last.hash, "head_seq": last.seq, "updated": recorded}
            writes.append(Write(RUNS_COLLECTION, [last.run_id], [head], embeddings=[[1.0]]))
        return self._writer.submit(writes)

    def _metadata(self, trace: Trace, recorded: int) -> dict[str, Any]:
        """The full trace, the filter fields, and its outcome if it is known already (an
        update per trace costs the store about half as much as the upsert itself)."""
        outcome = self._outcomes.get(trace_id(trace.run_id, trace.seq), {})
        return {
            "trace": trace.model_dump_json(),
            "recorded_at": recorded,
            **filter_fields(trace),
            **outcome,
        }


@dataclass(frozen=True)
class _InFlight:
    written: Ticket
    """The traces and the head record."""
    traces: list[Trace]
    annotated: Ticket
    """The outcome annotations (a failure there keeps them for the next flush)."""
    outcomes: dict[str, dict[str, float]]


def _outcome_writes(outcomes: dict[str, dict[str, float]]) -> list[Write]:
    ids = list(outcomes)
    return [
        Write(
            COLLECTION,
            ids[i : i + WRITE_CHUNK],
            [outcomes[x] for x in ids[i : i + WRITE_CHUNK]],
            update=True,
        )
        for i in range(0, len(ids), WRITE_CHUNK)
    ]


def _describe(exc: Exception) -> str:
    """A failure in one line (a writer's error already names the exception it carries)."""
    return str(exc) if isinstance(exc, StoreWriteError) else f"{exc.__class__.__name__}: {exc}"


class ChainDivergedError(RuntimeError):
    """A resumed run's replayed cycle does not match the trace it sealed before."""


DECISION_FIELDS = (
    "seq", "ts", "symbol", "inputs_hash", "features", "recalled", "lessons", "analyst",
    "proposal", "verdict", "refusals", "order", "fills", "flatten", "trading_state",
    "breakers", "breaker_events", "equity",
)  # fmt: skip
"""What a cycle decided and from what; not wall-clock latencies, not the run's name."""


def decision_difference(replayed: Trace, sealed: Trace) -> str | None:
    """The first decision field in which two traces of one cycle differ, if any (compared as
    their JSON holds them, where a NaN is null)."""
    mine, theirs = replayed.body(), sealed.body()
    for name in DECISION_FIELDS:
        if mine[name] != theirs[name] and canonical_json(mine[name]) != canonical_json(
            theirs[name]
        ):
            return f"{name} differs"
    return None


def load_run(collection: Collection, run_id: str) -> list[Trace]:
    """All traces of a run in chain order (the full trace is kept in the `trace` metadata)."""
    got = collection.get(where={"run_id": run_id}, include=["metadatas"])
    traces = [Trace.model_validate_json(str(meta["trace"])) for meta in got["metadatas"] or []]
    return sorted(traces, key=lambda t: t.seq)


def verify_chain(traces: list[Trace], start_hash: str = GENESIS_HASH) -> int | None:
    """Seq of the first trace whose hash or link does not hold, or None if the chain is intact."""
    prev = start_hash
    for trace in traces:
        if trace.prev_hash != prev or trace.compute_hash() != trace.hash:
            return trace.seq
        prev = trace.hash
    return None
