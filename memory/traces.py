"""The trace store: one hash-chained record per decision cycle, written to chromadb in batches.

A record's document is a one-line headline (searchable text); the whole trace, as JSON, is in
its `trace` metadata, which keeps writes fast (chroma indexes documents for full-text search).

Each trace carries the hash of the previous trace of its run, so editing or dropping any stored
trace breaks the chain where it happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.types import GENESIS_HASH, Trace

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

COLLECTION = "traces"


def trace_id(run_id: str, seq: int) -> str:
    return f"{run_id}:{seq:08d}"


class TraceStore:
    """Appends sealed traces for one run; buffered, flushed every `batch_size` and on close."""

    def __init__(self, collection: Collection, run_id: str, *, batch_size: int = 256) -> None:
        self._collection = collection
        self.run_id = run_id
        self._batch_size = batch_size
        self._buffer: list[tuple[Trace, list[float]]] = []
        self.last_hash = GENESIS_HASH
        self.count = 0

    def append(self, trace: Trace, embedding: list[float]) -> Trace:
        """Seal the trace onto the chain and queue it for writing; returns the sealed trace."""
        sealed = trace.sealed(self.last_hash)
        self.last_hash = sealed.hash
        self._buffer.append((sealed, embedding))
        self.count += 1
        if len(self._buffer) >= self._batch_size:
            self.flush()
        return sealed

    def flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        self._collection.add(
            ids=[trace_id(t.run_id, t.seq) for t, _ in batch],
            embeddings=[e for _, e in batch],  # type: ignore[arg-type]
            documents=[headline(t) for t, _ in batch],
            metadatas=[
                {
                    "trace": t.model_dump_json(),
                    "run_id": t.run_id,
                    "seq": t.seq,
                    "ts": t.ts,
                    "symbol": t.symbol,
                    "action": str(t.proposal.get("action", "HOLD")),
                    "verdict": t.verdict,
                    "hash": t.hash,
                    "prev_hash": t.prev_hash,
                }
                for t, _ in batch
            ],
        )


def headline(trace: Trace) -> str:
    """The searchable text of a trace: what was proposed, what was decided, and why."""
    action = trace.proposal.get("action", "HOLD")
    refusals = f" ({'; '.join(trace.refusals)})" if trace.refusals else ""
    thesis = trace.proposal.get("thesis", "")
    return f"{trace.symbol} {action} {trace.verdict}{refusals}: {thesis}"


def load_run(collection: Collection, run_id: str) -> list[Trace]:
    """All traces of a run in chain order (the full trace is kept in the `trace` metadata)."""
    got = collection.get(where={"run_id": run_id}, include=["metadatas"])
    traces = [Trace.model_validate_json(str(meta["trace"])) for meta in got["metadatas"] or []]
    return sorted(traces, key=lambda t: t.seq)


def verify_chain(traces: list[Trace]) -> int | None:
    """Seq of the first trace whose hash or link does not hold, or None if the chain is intact."""
    prev = GENESIS_HASH
    for trace in traces:
        if trace.prev_hash != prev or trace.compute_hash() != trace.hash:
            return trace.seq
        prev = trace.hash
    return None
