"""The decisions of a trace store as a sorted, filterable list, kept in memory by a reader.

Chroma answers a filtered `get` in storage order and cannot sort, so listing the newest
decisions of a large store means reading every matching record. A long-lived reader (the
operator's REST API) keeps each trace's filter fields and equity here instead, and catches up
from the per-run head records (`trace_runs`): a run whose head moved is read from the seq it
had reached; a run whose head went back, or a store whose count disagrees with the index
(a prune, a repair), is read again whole. Reads are cheap after the first.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Collection as Names
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from memory.store import pages

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

PAGE = 5_000
CODE = re.compile(r"[A-Z][A-Z0-9_]*")
"""A refusal starts with its code: `MAX_ORDER_NOTIONAL: the order ...`."""


class DecisionRow(NamedTuple):
    """One stored decision's filter fields; rows sort oldest first (time, run, seq). A tuple
    of plain values, which the garbage collector stops tracking: a server holding 100,000 of
    them would otherwise walk them all at every full collection, pausing every request."""

    ts: int
    run_id: str
    seq: int
    symbol: str
    action: str
    verdict: str
    equity: float | None
    close: float | None = None
    """The close of the candle the decision was taken on (the price the run saw)."""
    codes: tuple[str, ...] = ()
    """The validator's refusal codes (MAX_ORDER_NOTIONAL, ...): a denial's why, by code."""
    breaker_events: tuple[str, ...] = ()
    """The cycle's breaker trips, resets, halts and resumes, one line each."""


@dataclass(frozen=True)
class DecisionFilter:
    symbol: str | None = None
    runs: Names[str] | None = None
    """Only these runs (an account's); None: every run."""
    action: str | None = None
    verdict: str | None = None
    ts_from: int | None = None
    ts_to: int | None = None

    @property
    def by_time_only(self) -> bool:
        return (self.symbol, self.runs, self.action, self.verdict) == (None, None, None, None)

    def keeps(self, row: DecisionRow) -> bool:
        return (
            (self.symbol is None or row.symbol == self.symbol)
            and (self.runs is None or row.run_id in self.runs)
            and (self.action is None or row.action == self.action)
            and (self.verdict is None or row.verdict == self.verdict)
        )


@dataclass(frozen=True)
class DecisionPage:
    rows: list[DecisionRow]
    """Newest first."""
    total: int
    """How many decisions match the filter."""


class DecisionIndex:
    """Every stored decision's filter fields, sorted by time; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._rows: list[DecisionRow] = []
        self._times: list[int] = []
        self._heads: dict[str, int] = {}
        self._refreshed = -math.inf
        self._version = 0
        self.records_read = 0
        """Trace records read from the store, over every refresh."""

    def age(self) -> float:
        """Seconds since the last refresh (infinite before the first)."""
        return time.monotonic() - self._refreshed

    def refresh(self, traces: Collection, runs: Collection) -> None:
        """Catch up with the store: the traces written since the last refresh. Readers keep
        paging the rows they have while it reads the store; the new rows replace them whole."""
        with self._refreshing:
            heads = _heads(runs)
            if heads == self._heads and traces.count() == len(self._rows):
                self._refreshed = time.monotonic()
                return
            rows = {(r.run_id, r.seq): r for r in self._rows}
            for run_id in set(self._heads) - set(heads):
                rows = {k: r for k, r in rows.items() if k[0] != run_id}
            for run_id, head in heads.items():
                known = self._heads.get(run_id, -1)
                if head == known:
                    continue
                if head < known:
                    rows = {k: r for k, r in rows.items() if k[0] != run_id}
                    known = -1
                for row in self._read(traces, run_id, after=known):
                    rows[(row.run_id, row.seq)] = row
            if len(rows) != traces.count():
                rows = {(r.run_id, r.seq): r for r in self._read(traces, None, after=-1)}
            ordered = sorted(rows.values())
            times = [row.ts for row in ordered]
            with self._lock:
                self._rows, self._times, self._heads = ordered, times, heads
                self._version += 1
            self._refreshed = time.monotonic()

    def restore(self, rows: list[DecisionRow], heads: dict[str, int]) -> bool:
        """Start from rows and run heads kept from an earlier reader (sorted oldest first), so
        the first refresh reads only what was written since; False, and nothing changed, when
        this index holds rows already."""
        with self._refreshing, self._lock:
            if self._version:
                return False
            self._rows, self._times, self._heads = rows, [row.ts for row in rows], dict(heads)
            self._version += 1
            return True

    def snapshot(self) -> tuple[int, list[DecisionRow], dict[str, int]]:
        """The version, rows and run heads, as of one refresh (the lists are not changed
        afterwards: a refresh replaces them)."""
        with self._lock:
            return self._version, self._rows, dict(self._heads)

    def page(self, where: DecisionFilter, *, offset: int, limit: int) -> DecisionPage:
        """The matching decisions, newest first, `limit` of them after the first `offset`."""
        rows, low, high = self._window(where)
        if where.by_time_only:
            end = max(low, high - offset)
            return DecisionPage(rows[max(low, end - limit) : end][::-1], high - low)
        matching = [rows[i] for i in range(high - 1, low - 1, -1) if where.keeps(rows[i])]
        return DecisionPage(matching[offset : offset + limit], len(matching))

    def equity(self, where: DecisionFilter, *, limit: int) -> list[DecisionRow]:
        """The matching decisions that recorded an equity, oldest first, the latest `limit`."""
        rows, low, high = self._window(where)
        recorded = [
            rows[i] for i in range(low, high) if rows[i].equity is not None and where.keeps(rows[i])
        ]
        return recorded[-limit:]

    def _read(self, traces: Collection, run_id: str | None, *, after: int) -> list[DecisionRow]:
        """The traces of `run_id` past `after` (of every run when None)."""
        where: dict[str, Any] | None = None
        if run_id is not None:
            where = {"$and": [{"run_id": run_id}, {"seq": {"$gt": after}}]}
        read = [
            _row(meta)
            for page in pages(traces, ["metadatas"], where=where, size=PAGE)
            for meta in page["metadatas"] or []
        ]
        self.records_read += len(read)
        return read

    def refusal_counts(self, where: DecisionFilter) -> Counter[str]:
        """How many times each refusal code denied a matching decision."""
        rows, low, high = self._window(where)
        return Counter(
            code for i in range(low, high) if where.keeps(rows[i]) for code in rows[i].codes
        )

    def breaker_events(self, where: DecisionFilter, *, limit: int) -> list[DecisionRow]:
        """The matching decisions whose cycle tripped, reset, halted or resumed a breaker,
        newest first, at most `limit`."""
        rows, low, high = self._window(where)
        found: list[DecisionRow] = []
        for i in range(high - 1, low - 1, -1):
            if len(found) >= limit:
                break
            if rows[i].breaker_events and where.keeps(rows[i]):
                found.append(rows[i])
        return found

    def version(self) -> int:
        """A number that changes whenever the rows do (what was computed from them is
        still right while it stays the same)."""
        with self._lock:
            return self._version

    def _window(self, where: DecisionFilter) -> tuple[list[DecisionRow], int, int]:
        """The rows, and the bounds of those between the filter's times (bisected: the rows
        are sorted by time; a refresh replaces the list, so this one stays as it is)."""
        with self._lock:
            rows, times = self._rows, self._times
        low = 0 if where.ts_from is None else bisect.bisect_left(times, where.ts_from)
        high = len(rows) if where.ts_to is None else bisect.bisect_right(times, where.ts_to)
        return rows, low, high


def _heads(runs: Collection) -> dict[str, int]:
    heads: dict[str, int] = {}
    for page in pages(runs, ["metadatas"], size=PAGE):
        for run_id, meta in zip(page["ids"], page["metadatas"] or [], strict=True):
            head = meta.get("head_seq")
            heads[run_id] = head if isinstance(head, int) else -1
    return heads


def _row(meta: Mapping[str, Any]) -> DecisionRow:
    trace = _json(meta.get("trace"))
    features = trace.get("features")
    return DecisionRow(
        ts=int(meta["ts"]),
        run_id=str(meta["run_id"]),
        seq=int(meta["seq"]),
        symbol=str(meta["symbol"]),
        action=str(meta["action"]),
        verdict=str(meta["verdict"]),
        equity=_number(trace.get("equity")),
        close=_number(features.get("close")) if isinstance(features, dict) else None,
        codes=tuple(refusal_code(refusal) for refusal in trace.get("refusals") or ()),
        breaker_events=tuple(_event(event) for event in trace.get("breaker_events") or ()),
    )


def _json(stored: object) -> dict[str, Any]:
    """The trace's JSON as a plain dict (validating the whole trace costs ten times more);
    empty when unreadable: `tradegraph audit verify` is where an unreadable trace is reported."""
    try:
        found = json.loads(str(stored))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _number(value: object) -> float | None:
    """`value` when it is a finite number, else None."""
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def refusal_code(refusal: object) -> str:
    """The code a refusal starts with (UNKNOWN when it starts with none)."""
    found = CODE.match(str(refusal))
    return found.group() if found else "UNKNOWN"


def _event(event: object) -> str:
    if not isinstance(event, dict):
        return "unreadable breaker event"
    return (
        f"{event.get('kind', '?')} {event.get('breaker', '?')} {event.get('stage', '?')}: "
        f"{str(event.get('reason', ''))[:200]}"
    )
