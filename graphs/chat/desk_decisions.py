"""Decisions listed by filters, newest first, one decision with its full trace, and an
account's equity as its runs recorded it: what the operator's REST API reads of the audit
trail. Reads go through a `DecisionReader` the caller keeps: the store held open, and a
`DecisionIndex` of it (chroma cannot sort)."""

from __future__ import annotations

import threading
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.store_version import SqliteVersions, Stamp
from core.types import Trace
from graphs.chat.desk_base import ChatDesk
from graphs.chat.desk_stores import storage, store_files
from graphs.chat.desk_tools_audit import WhyView, iso, why_view
from memory.audit import load_trace
from memory.audit_store import AuditStore, open_audit_store, parse_trace_ref
from memory.decision_cache import IndexCache, cache_file
from memory.decision_index import DecisionFilter, DecisionIndex, DecisionRow
from memory.recall_lookup import lessons_by_id, situations_by_id
from memory.store import release_chroma
from memory.traces import trace_id

MAX_RECALLED = 10
FRESH_S = 1.0
"""Without a stamp of the store, how old the decision index may be before a read catches it
up: a list is at most this far behind the store, which a busy server reads about once a
second for it."""


class DecisionLine(BaseModel):
    """One recorded decision; its `ref` (RUN_ID:SEQ) opens it at /v1/decisions/{ref}."""

    model_config = ConfigDict(frozen=True)

    ref: str
    run_id: str
    seq: int
    ts: int = Field(description="when the decision was taken (its candle), ms UTC")
    time: str
    symbol: str
    action: str
    verdict: str
    equity: float | None


class DecisionsPage(BaseModel):
    """Decisions matching every filter, newest first; `next_offset` pages on (None: no more)."""

    model_config = ConfigDict(frozen=True)

    decisions: list[DecisionLine]
    total: int
    offset: int
    next_offset: int | None


class DecisionDetail(BaseModel):
    """One decision: the readable view the chat's /why shows, and the full typed trace."""

    model_config = ConfigDict(frozen=True)

    ref: str
    why: WhyView
    trace: Trace


class EquityPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    ts: int
    time: str
    equity: float
    ref: str


class EquityHistory(BaseModel):
    """The account's equity as each of its runs' decisions recorded it, oldest first."""

    model_config = ConfigDict(frozen=True)

    account: str
    runs: list[str]
    points: list[EquityPoint]


class DecisionQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str | None = None
    run: str | None = None
    account: str | None = None
    ts_from: int | None = None
    ts_to: int | None = None
    action: Literal["BUY", "SELL", "HOLD"] | None = None
    verdict: Literal["approved", "denied", "hold"] | None = None


def account_runs(desk: ChatDesk, account: str) -> set[str]:
    """The ids of the runs that traded `account` (none when it never traded here)."""
    stores = storage(desk)
    if not stores.has_ledger():
        return set()
    book = stores.accounts()
    try:
        found = (book.run(run_id) for run_id in book.cycles_by_run())
        return {record.run_id for record in found if record and record.account == account}
    finally:
        book.close()


class DecisionReader:
    """The desk's trace store held open for a long-lived reader, and its decision index.

    The chat's tools open the store for each read, because an embedded store does not show
    what another process wrote after it was opened. A server holding the data directory's
    writer lock (`tradegraph serve`) is the only process writing it, and a client in the
    writing process sees every write, so the store is opened once (when it exists) and kept:
    opening a store of 100,000 traces takes a second, reading its run heads a millisecond.
    The index is caught up exactly when the stores changed (`stamp`: the version of their
    SQLite files, `core.store_version`); without a stamp (stores at a URL, a busy file), at
    most `FRESH_S` late.

    The index is kept in the data directory's cache (`memory.decision_cache`) once it changed,
    and started from it when the store opens: a restarted server reads only what is new.
    """

    def __init__(self, desk: ChatDesk) -> None:
        self.desk = desk
        self.index = DecisionIndex()
        self._lock = threading.Lock()
        self._store: AuditStore | None = None
        files = store_files(desk)
        self._versions = None if files is None else SqliteVersions(files)
        self._caught_up: Stamp | None = None
        self.cache = IndexCache(cache_file(desk.root), self.index)
        self.warmed = threading.Event()
        """Set once the server's first read of the index ended (`warm`): until then a
        decisions request would wait for a store of 100,000 traces to be read."""

    def warm(self) -> None:
        """The index's first read (the server does it while it starts); `warmed` is set when
        it ends, read or not: a store that cannot be read is said by the requests (and by
        /readyz's trace store check), not by a wait that never ends."""
        try:
            self.refreshed()
        finally:
            self.warmed.set()

    def stamp(self) -> Stamp | None:
        """The version of the desk's stores (traces, ledger, risk state): equal stamps mean
        nothing was written between them; None when it cannot be told (then: `FRESH_S`)."""
        return None if self._versions is None else self._versions.stamp()

    def store(self) -> AuditStore | None:
        """The trace store, None while the data directory holds none."""
        with self._lock:
            if self._store is None and (
                self.desk.settings.chroma_url or (self.desk.root / "chroma").is_dir()
            ):
                self._store = open_audit_store(self.desk.root, self.desk.settings.chroma_url)
                self.cache.restore(self._store.traces, self._store.runs)
            return self._store

    def refreshed(self) -> DecisionIndex:
        """The index caught up with the store: at once when the store's stamp moved, else
        unless it was caught up within the last `FRESH_S`."""
        stamp = self.stamp()
        if stamp is not None and stamp == self._caught_up:
            return self.index
        if stamp is None and self.index.age() < FRESH_S:
            return self.index
        store = self.store()
        if store is not None:
            self.index.refresh(store.traces, store.runs)
            self.cache.changed()
        self._caught_up = stamp
        return self.index

    def close(self) -> None:
        """Let the store go, the index's last change written to the cache first."""
        self.cache.close()
        with self._lock:
            if self._store is not None and not self.desk.settings.chroma_url:
                release_chroma(self._store.client)
            self._store = None
            if self._versions is not None:
                self._versions.close()


def _filter(desk: ChatDesk, query: DecisionQuery) -> DecisionFilter:
    runs: set[str] | None = None
    if query.account is not None:
        runs = account_runs(desk, query.account)
    if query.run is not None:
        runs = {query.run} if runs is None else runs & {query.run}
    return DecisionFilter(
        symbol=query.symbol.strip().upper() if query.symbol else None,
        runs=runs,
        action=query.action,
        verdict=query.verdict,
        ts_from=query.ts_from,
        ts_to=query.ts_to,
    )


def _line(row: DecisionRow) -> DecisionLine:
    return DecisionLine(
        ref=f"{row.run_id}:{row.seq}",
        run_id=row.run_id,
        seq=row.seq,
        ts=row.ts,
        time=iso(row.ts),
        symbol=row.symbol,
        action=row.action,
        verdict=row.verdict,
        equity=row.equity,
    )


def decisions_page(
    reader: DecisionReader, query: DecisionQuery, *, offset: int, limit: int
) -> DecisionsPage:
    where = _filter(reader.desk, query)
    found = reader.refreshed().page(where, offset=offset, limit=limit)
    following = offset + len(found.rows)
    return DecisionsPage(
        decisions=[_line(row) for row in found.rows],
        total=found.total,
        offset=offset,
        next_offset=following if following < found.total else None,
    )


def decision_detail(reader: DecisionReader, ref: str) -> DecisionDetail | None:
    """The decision `ref` (RUN_ID:SEQ) names, None when the store holds none such; a
    UserError when `ref` is not of that form; a ValueError when its stored JSON is damaged."""
    run_id, seq = parse_trace_ref(ref.strip())
    store = reader.store()
    if store is None:
        return None
    trace = load_trace(store.traces, trace_id(run_id, seq))
    if trace is None:
        return None
    recalled = situations_by_id(store.client, trace.recalled[:MAX_RECALLED])
    lessons = lessons_by_id(store.client, trace.lessons[:MAX_RECALLED])
    return DecisionDetail(
        ref=f"{run_id}:{seq}", why=why_view(trace, recalled, lessons), trace=trace
    )


def equity_history(
    reader: DecisionReader, account: str, query: DecisionQuery, *, limit: int
) -> EquityHistory:
    runs = account_runs(reader.desk, account)
    where = DecisionFilter(runs=runs, ts_from=query.ts_from, ts_to=query.ts_to)
    rows = reader.refreshed().equity(where, limit=limit)
    return EquityHistory(
        account=account,
        runs=sorted(runs),
        points=[
            EquityPoint(
                ts=row.ts, time=iso(row.ts), equity=row.equity, ref=f"{row.run_id}:{row.seq}"
            )
            for row in rows
            if row.equity is not None
        ],
    )
