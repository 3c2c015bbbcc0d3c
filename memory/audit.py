"""Audit over the stored traces: verify the chains, show one, prune old ones (finding traces by
meaning is `memory.trace_search`).

Verification trusts nothing stored but the hashes: each trace is re-hashed from its own JSON,
linked to its predecessor, checked against the filter fields and the headline stored beside it
(so editing those is caught too), the run's sequence must have no hole, and the last trace must
be the one the run's head record names (so dropping the newest traces is caught). A pruned
prefix is represented by its anchor: the seq and hash of the last pruned trace, from which the
remaining chain must continue. A chain that carries on, every link intact, past the trace its
head record names is a write cut short between the two (traces first, head record after), not
an edit: `repair_head` moves the record to where the chain proves. What the records outside
the store (run registry, ledger) say of a run is judged in `memory.integrity`; situations and
lessons are checked against their content hashes here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.types import GENESIS_HASH, Trace
from memory.store import pages
from memory.traces import filter_fields, headline, trace_id

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

PAGE = 2_000


@dataclass(frozen=True)
class ChainReport:
    run_id: str
    traces: int
    head: str
    broken_seq: int | None = None
    reason: str | None = None
    pruned_through: int | None = None
    end_seq: int = -1
    """The seq of the chain's last trace as stored (-1: none)."""
    interrupted_at: int | None = None
    """When the chain holds but carries on past the run's head record: the seq that record
    names (-1: there is none). A write cut short between traces and head record, which
    `audit repair` settles; not an edit."""
    anchor_hash: str = GENESIS_HASH
    hashes: Mapping[int, str] = field(default_factory=dict, compare=False, repr=False)
    """Each stored trace's hash by seq (for the run registry's marks)."""
    orders: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Client order id to the seq of the trace that records the order."""
    fills: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Client order id to the seq of the trace that records its fill."""
    noted: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Client order id to the seq of the trace whose event names the order (reconciliation:
    orders adopted, settled or closed while the run was away)."""

    @property
    def intact(self) -> bool:
        return self.broken_seq is None and self.interrupted_at is None

    @property
    def altered(self) -> bool:
        return self.broken_seq is not None


@dataclass(frozen=True)
class _Record:
    id: str
    metadata: Mapping[str, Any]
    document: str


def _records(traces: Collection, where: dict[str, Any] | None) -> Iterator[_Record]:
    for page in pages(traces, ["metadatas", "documents"], where=where, size=PAGE):
        rows = zip(page["ids"], page["metadatas"] or [], page["documents"] or [], strict=True)
        for i, meta, doc in rows:
            yield _Record(i, meta, doc or "")


def _head(runs: Collection, run_id: str) -> Mapping[str, Any] | None:
    got = runs.get(ids=[run_id], include=["metadatas"])
    metadatas = got["metadatas"] or []
    return metadatas[0] if metadatas else None


def run_ids(traces: Collection, runs: Collection) -> list[str]:
    """Every run with a head record or at least one stored trace."""
    found = set(runs.get(include=[])["ids"])
    for page in pages(traces, ["metadatas"], size=PAGE):
        found.update(str(meta.get("run_id", "")) for meta in page["metadatas"] or [])
    return sorted(found - {""})


def verify_run(
    traces: Collection, runs: Collection, run_id: str, *, expected_head: str | None = None
) -> ChainReport:
    """The first link of the run's chain that does not hold, if any. `expected_head` is a
    chain head kept outside the store (the run summary's `trace_store.chain_head`): with it,
    even a rewrite of the whole chain and its head record inside the store is caught."""
    head = _head(runs, run_id)
    records = sorted(_records(traces, {"run_id": run_id}), key=_position)
    if head is None and not records:
        return ChainReport(run_id, 0, GENESIS_HASH, 0, "the store holds no such run")
    head = head or {}
    anchor_seq = _as_int(head.get("anchor_seq", -1))
    anchor_hash = prev = str(head.get("anchor_hash", GENESIS_HASH))
    pruned = anchor_seq if anchor_seq >= 0 else None
    expected = anchor_seq + 1
    hashes: dict[int, str] = {}
    orders: dict[str, int] = {}
    fills: dict[str, int] = {}
    noted: dict[str, int] = {}
    for record in records:
        problem, trace = _check_record(record, expected, prev)
        if problem is not None:
            return ChainReport(run_id, len(records), prev, expected, problem, pruned, expected - 1)
        assert trace is not None
        hashes[trace.seq] = trace.hash
        if trace.order is not None:
            orders[trace.order.client_order_id] = trace.seq
        fills.update((f.client_order_id, trace.seq) for f in trace.fills)
        noted.update((e.client_order_id, trace.seq) for e in trace.events if e.client_order_id)
        prev, expected = trace.hash, expected + 1
    end = expected - 1
    done: dict[str, Any] = {
        "pruned_through": pruned,
        "end_seq": end,
        "anchor_hash": anchor_hash,
        "hashes": hashes,
        "orders": orders,
        "fills": fills,
        "noted": noted,
    }
    if expected_head is not None and expected_head != prev:
        return ChainReport(
            run_id, len(records), prev, end,
            f"the chain ends at {prev}, not at the head kept outside the store "
            f"({expected_head}): the chain was rewritten",
            **done,
        )  # fmt: skip
    if not head:
        return ChainReport(
            run_id, len(records), prev, interrupted_at=-1,
            reason="the run has traces but no head record: a write cut short before it "
            "(or the head record was deleted)",
            **done,
        )  # fmt: skip
    head_seq, head_hash = _as_int(head.get("head_seq", end)), head.get("head_hash", prev)
    if head_seq == end and head_hash == prev:
        return ChainReport(run_id, len(records), prev, **done)
    if anchor_seq <= head_seq < end and hashes.get(head_seq) == head_hash:
        return ChainReport(
            run_id, len(records), prev, interrupted_at=head_seq,
            reason=f"the chain carries on past the run's head record (trace {head_seq}) to "
            f"trace {end}, every link intact: a write cut short before the head record",
            **done,
        )  # fmt: skip
    return ChainReport(
        run_id, len(records), prev, end + 1,
        f"the run's head record names trace {head_seq} ({head_hash}), but the chain ends at "
        f"trace {end}: traces were dropped or replaced",
        **done,
    )  # fmt: skip


def repair_head(runs: Collection, report: ChainReport) -> bool:
    """Move the run's head record to the end its chain proves, after an interrupted write;
    False (nothing written) when the chain does not show an interrupted write."""
    if report.interrupted_at is None or report.altered:
        return False
    head = dict(_head(runs, report.run_id) or {})
    head.update({"head_seq": report.end_seq, "head_hash": report.head})
    head.setdefault("updated", int(time.time() * 1000))
    runs.upsert(ids=[report.run_id], embeddings=[[1.0]], metadatas=[head])  # type: ignore[arg-type]
    return True


def missing_tail(report: ChainReport, cycles_ran: int) -> int:
    """How many traces of the run's own count of cycles (kept in its record, apart from the
    traces) the chain does not hold: the tail a killed process never wrote. 0 when complete."""
    sealed = report.traces + (report.pruned_through + 1 if report.pruned_through is not None else 0)
    return max(0, cycles_ran - sealed)


def _position(record: _Record) -> int:
    """Where a record sits in its chain, from its id (RUN:SEQ), which the metadata cannot
    move; the stored `seq` field is checked against the trace separately."""
    return _as_int(record.id.rpartition(":")[2])


def _as_int(value: object) -> int:
    """A stored number, or -1 when the field was tampered into something else."""
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return -1


def _check_record(record: _Record, seq: int, prev: str) -> tuple[str | None, Trace | None]:
    stored_seq = _position(record)
    if stored_seq != seq:
        return f"trace {seq} is missing (the next stored one is {stored_seq})", None
    try:
        trace = Trace.model_validate_json(str(record.metadata["trace"]))
    except (KeyError, ValueError) as exc:
        return f"the stored trace JSON is unreadable ({exc.__class__.__name__})", None
    if trace.compute_hash() != trace.hash:
        return "its content does not match its hash (the trace was edited)", None
    if trace.prev_hash != prev:
        return "it does not link to the previous trace (prev_hash differs)", None
    if record.id != trace_id(trace.run_id, trace.seq):
        return f"it is stored under the id {record.id}, not its own", None
    for key, value in filter_fields(trace).items():
        if record.metadata.get(key) != value:
            return f"its stored {key!r} field differs from the trace (metadata edited)", None
    if record.document != headline(trace):
        return "its stored headline differs from the trace (document edited)", None
    return None, trace


def load_trace(traces: Collection, id_: str) -> Trace | None:
    """The stored trace, None if there is none; ValueError if its JSON is unreadable."""
    got = traces.get(ids=[id_], include=["metadatas"])
    metadatas = got["metadatas"] or []
    if not metadatas:
        return None
    try:
        return Trace.model_validate_json(str(metadatas[0].get("trace", "")))
    except ValueError:
        raise ValueError(f"the stored JSON of trace {id_} is unreadable") from None


@dataclass(frozen=True)
class PruneResult:
    run_id: str
    removed: int
    anchor_seq: int | None


def prune_run(
    traces: Collection, runs: Collection, run_id: str, *, recorded_before_ms: int
) -> PruneResult:
    """Delete the run's traces recorded before the cutoff (always a prefix of its chain: a run
    records in order) and keep the last deleted trace's seq and hash as the chain's anchor."""
    old = list(
        _records(
            traces,
            {"$and": [{"run_id": run_id}, {"recorded_at": {"$lt": recorded_before_ms}}]},
        )
    )
    if not old:
        return PruneResult(run_id, 0, None)
    head = dict(_head(runs, run_id) or {})
    start = int(head.get("anchor_seq", -1)) + 1
    seqs = sorted(int(r.metadata["seq"]) for r in old)
    last = start - 1
    for seq in seqs:  # only an unbroken prefix: a hole means tampering, which verify reports
        if seq != last + 1:
            break
        last = seq
    if last < start:
        return PruneResult(run_id, 0, None)
    by_seq = {int(r.metadata["seq"]): r for r in old}
    anchor_hash = str(by_seq[last].metadata["hash"])
    head.update({"anchor_seq": last, "anchor_hash": anchor_hash})
    head.setdefault("head_seq", last)
    head.setdefault("head_hash", anchor_hash)
    runs.upsert(ids=[run_id], embeddings=[[1.0]], metadatas=[head])  # type: ignore[arg-type]
    doomed = [by_seq[s].id for s in range(start, last + 1)]
    for i in range(0, len(doomed), PAGE):
        traces.delete(ids=doomed[i : i + PAGE])
    return PruneResult(run_id, len(doomed), last)


def readable(trace: Trace) -> list[str]:
    """A trace as an operator reads it: what was seen, proposed, decided and done."""
    p = trace.proposal
    f = trace.features
    lines = [
        f"trace {trace_id(trace.run_id, trace.seq)}  ({_iso(trace.ts)})",
        f"market     {trace.symbol} from {trace.market_source}  inputs {trace.inputs_hash}",
        f"analyst    {trace.analyst}"
        + (f"  model {trace.model}" if trace.model else "")
        + (f"  prompt {trace.prompt_version}" if trace.prompt_version else ""),
        f"state      {trace.trading_state}  equity {trace.equity:,.2f}",
    ]
    if f.get("ready"):
        lines.append(
            f"features   close {f.get('close')}  regime {f.get('regime')}  RSI "
            f"{_num(f.get('rsi_14'))}  ADX {_num(f.get('adx_14'))}  ATR {_num(f.get('atr_14'))}  "
            f"vol {_num(f.get('volatility'))}"
        )
    else:
        lines.append("features   warming up")
    lines.append(f"recalled   {len(trace.recalled)} situations, {len(trace.lessons)} lessons")
    lines.append(
        f"proposal   {p.action}  size {p.size_fraction}  stop {p.stop_loss}"
        f"  target {p.take_profit}  confidence {p.confidence}"
    )
    lines.append(f"thesis     {p.thesis}")
    lines.append(f"verdict    {trace.verdict}" + (" (flatten)" if trace.flatten else ""))
    lines.extend(f"  refusal  {r}" for r in trace.refusals)
    if trace.order:
        o = trace.order
        lines.append(
            f"order      {o.client_order_id} {o.side} {o.quantity} "
            f"{o.type} limit {o.limit_price} stop {o.stop_price}"
        )
    lines.extend(f"fill       {x.side} {x.quantity} @ {x.price} fee {x.fee}" for x in trace.fills)
    lines.extend(f"breaker    {d.breaker} ({d.stage}): {d.reason}" for d in trace.breakers)
    lines.extend(
        f"event      {e.kind} {e.breaker} ({e.stage}): {e.reason}" for e in trace.breaker_events
    )
    if trace.llm:
        lines.append("llm        " + ", ".join(f"{k} {v}" for k, v in trace.llm.items()))
    if trace.messages:
        lines.append(f"messages   {len(trace.messages)} (LLM conversation kept in the trace)")
    if trace.latency_ms:
        lines.append(
            "latency    " + ", ".join(f"{k} {v:.2f} ms" for k, v in trace.latency_ms.items())
        )
    lines.append(f"hash       {trace.hash}")
    lines.append(f"prev       {trace.prev_hash}")
    return lines


def _num(x: object) -> str:
    return f"{x:.4g}" if isinstance(x, int | float) else "-"


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def runs_summary(reports: Sequence[ChainReport]) -> tuple[int, int]:
    """(intact runs, broken runs)."""
    intact = sum(r.intact for r in reports)
    return intact, len(reports) - intact


@dataclass(frozen=True)
class RecordsReport:
    """Situations or lessons checked against the content hash each was written with."""

    collection: str
    checked: int
    altered: tuple[str, ...] = ()
    """Ids of the records whose content no longer matches their hash."""
    unhashed: tuple[tuple[str, str], ...] = ()
    """(id, run id) of the records that carry no hash: written before records were hashed,
    or stripped of it (the caller tells which from the run registry)."""


def verify_situations(collection: Collection) -> RecordsReport:
    from memory.situations import CONTENT_HASH, content_hash, vector_matches

    checked, altered, unhashed = 0, [], []
    for page in pages(collection, ["metadatas", "embeddings"], size=PAGE):
        embeddings = page["embeddings"]
        vectors = list(embeddings) if embeddings is not None else [[]] * len(page["ids"])
        for id_, meta, vector in zip(page["ids"], page["metadatas"] or [], vectors, strict=True):
            checked += 1
            if CONTENT_HASH not in meta:
                unhashed.append((id_, _run_of(meta.get("trace_id"))))
            elif meta[CONTENT_HASH] != content_hash(id_, meta) or not vector_matches(meta, vector):
                altered.append(id_)
    return RecordsReport(collection.name, checked, tuple(altered), tuple(unhashed))


def verify_lessons(collection: Collection) -> RecordsReport:
    from memory.lessons import lesson_hash
    from memory.situations import CONTENT_HASH

    checked, altered, unhashed = 0, [], []
    for page in pages(collection, ["metadatas", "documents"], size=PAGE):
        rows = zip(page["ids"], page["metadatas"] or [], page["documents"] or [], strict=True)
        for id_, meta, text in rows:
            checked += 1
            if CONTENT_HASH not in meta:
                unhashed.append((id_, _run_of(meta.get("entry_trace_id"))))
            elif meta[CONTENT_HASH] != lesson_hash(id_, meta, text or ""):
                altered.append(id_)
    return RecordsReport(collection.name, checked, tuple(altered), tuple(unhashed))


def _run_of(trace_ref: object) -> str:
    """The run of a trace id (RUN:SEQ)."""
    return str(trace_ref or "").rpartition(":")[0]
