"""The chat's audit trail: one hash chain per thread in the trace store, one trace per turn.

A thread is a run of the trace store (`chat-THREAD`), so `tradegraph audit verify`, `show` and
`search` read it as they read a decision cycle's: each turn (a question, a slash command, an
approval, a rejection) is one trace holding who asked, the tool calls with their inputs and
the size of their results, the model's usage, and, for a trade, the proposal, the validator's
verdict, the order and its fills (so the ledger's rows of the thread match its traces). A
chain carries on across processes from the head record the store keeps. Secrets never reach
it: every text is scrubbed of the configured keys before it is written.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.run_registry import RunRegistry
from core.settings import Settings
from core.types import (
    Fill,
    Order,
    Proposal,
    Trace,
    TraceEvent,
    TradingState,
    VerdictKind,
)
from memory.embeddings import text_embedder
from memory.session_stores import RUNS_EMBEDDING
from memory.spool import TraceSpool
from memory.store import open_chroma, vector_collection
from memory.traces import COLLECTION, RUNS_COLLECTION, TraceStore

log = logging.getLogger(__name__)

RUN_PREFIX = "chat-"
ANALYST = "chat"
MAX_TEXT = 2_000
"""Characters of a question, an answer or a tool input kept in a trace."""
SECRET_SHAPES = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}")
"""What an Anthropic key looks like, scrubbed even when it is not this process's own."""


def chat_run_id(thread: str) -> str:
    return f"{RUN_PREFIX}{thread}"


@dataclass(frozen=True)
class ToolRun:
    """One tool call of a turn, as the audit keeps it."""

    call_id: str
    name: str
    input: dict[str, Any]
    ok: bool
    result_chars: int = 0
    error: str = ""


@dataclass(frozen=True)
class TurnRecord:
    """Everything one turn leaves in its thread's chain."""

    thread: str
    kind: str
    """message, slash, call (one tool by name), propose, approve, reject or expire."""
    actor: str
    role: str
    text: str
    at_ms: int
    answer: str = ""
    calls: tuple[ToolRun, ...] = ()
    model: str | None = None
    prompt_version: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    symbol: str = ""
    proposal: Proposal | None = None
    verdict: VerdictKind = VerdictKind.HOLD
    refusals: tuple[str, ...] = ()
    order: Order | None = None
    fills: tuple[Fill, ...] = ()
    trading_state: TradingState = TradingState.ACTIVE
    equity: float = float("nan")
    latency_ms: dict[str, float] = field(default_factory=dict)


class Scrubber:
    """Removes the configured secrets (and anything shaped like an Anthropic key) from text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    @classmethod
    def of(cls, settings: Settings) -> Scrubber:
        values = [settings.anthropic_api_key, settings.database_url]
        values += [settings.execution.api_key, settings.execution.api_secret]
        return cls(v.get_secret_value() for v in values if v is not None)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[secret]")
        return SECRET_SHAPES.sub("[secret]", text)


class ChatAudit:
    """Appends turn traces to their threads' chains in the data directory's trace store (the
    caller holds the data directory's writer lock).

    A turn's trace is numbered at once and written by a writer thread once the turn is over
    (`release`), so a turn neither waits for the store (two chroma writes, tens of milliseconds
    each on an embedded store) nor shares the CPU with it: the writer takes whatever turns have
    queued up and writes them together, in order. A batch the store refuses is spooled and
    written at the next one (`memory.spool`); `close` writes everything queued before the
    threads are sealed in the run registry."""

    def __init__(self, root: Path, settings: Settings, *, market_source: str) -> None:
        client = open_chroma(root, settings.chroma_url)
        self._embedder = text_embedder(settings.memory.embedding)
        kind = f"{self._embedder.name}-{self._embedder.dim}"
        self._traces = vector_collection(client, COLLECTION, embedding=kind)
        self._runs = vector_collection(client, RUNS_COLLECTION, embedding=RUNS_EMBEDDING)
        self._registry = RunRegistry(root)
        self._spool = root / "spool"
        self._stores: dict[str, TraceStore] = {}
        self._next_seq: dict[str, int] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Trace | None] = queue.Queue()
        self._held: list[Trace] = []
        self._scrub = Scrubber.of(settings)
        self.market_source = market_source
        self._writer = threading.Thread(target=self._write_queued, name="chat-audit", daemon=True)
        self._writer.start()

    def record(self, turn: TurnRecord) -> Trace:
        """The turn's trace, numbered in its thread's chain and queued for writing."""
        run_id = chat_run_id(turn.thread)
        with self._lock:
            seq = self._next_seq.get(run_id)
            if seq is None:
                seq = self._open(run_id)
            self._next_seq[run_id] = seq + 1
            trace = self._trace(turn, seq)
            self._held.append(trace)
        return trace

    def release(self) -> None:
        """The turns recorded so far are over: write their traces."""
        with self._lock:
            held, self._held = self._held, []
        for trace in held:
            self._queue.put(trace)

    def close(self) -> None:
        """Write everything queued, then seal every thread written here in the run registry."""
        self.release()
        self._queue.put(None)
        self._writer.join()
        for store in self._stores.values():
            store.close()
            seq, head = store.chain_end
            if seq >= 0:
                self._registry.seal(store.run_id, seq, head)
        self._stores.clear()

    def _open(self, run_id: str) -> int:
        """The next seq of the thread's chain, carrying on from where an earlier process left
        it (its head record); the thread is registered as opened by this process."""
        store = TraceStore(
            self._traces,
            run_id,
            embedder=self._embedder,
            runs=self._runs,
            spool=TraceSpool(self._spool, run_id),
            batch_size=10**6,
        )
        got = self._runs.get(ids=[run_id], include=["metadatas"])
        heads = got["metadatas"] or []
        if heads:
            store.count = int(heads[0].get("head_seq", -1)) + 1  # type: ignore[arg-type]
            store.last_hash = str(heads[0].get("head_hash", store.last_hash))
        self._registry.open_run(run_id)
        self._stores[run_id] = store
        return store.count

    def _write_queued(self) -> None:
        """The writer thread: seal and write what is queued, a batch at a time, until close."""
        done = False
        while not done:
            batch = [self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            done = None in batch
            touched: dict[str, TraceStore] = {}
            for trace in batch:
                if trace is None:
                    continue
                store = self._stores[trace.run_id]
                store.append(trace)
                touched[trace.run_id] = store
            for store in touched.values():
                try:
                    store.flush()
                except Exception:  # spooled when it can be; the chat goes on either way
                    log.exception("chat traces of %s could not be written", store.run_id)

    def _trace(self, turn: TurnRecord, seq: int) -> Trace:
        scrub = self._scrub
        events = [
            TraceEvent(
                ts=turn.at_ms,
                kind=f"chat_{turn.kind}",
                detail=scrub(f"{turn.actor} ({turn.role}): {_cut(turn.text)}"),
            ),
            *(_call_event(call, turn.at_ms, scrub) for call in turn.calls),
        ]
        if turn.order is not None:
            events.append(
                TraceEvent(
                    ts=turn.at_ms,
                    kind="chat_order",
                    detail=f"placed on approval by {scrub(turn.actor)}",
                    client_order_id=turn.order.client_order_id,
                )
            )
        conversation: list[dict[str, Any]] = [{"role": "user", "text": scrub(_cut(turn.text))}]
        if turn.answer:
            conversation.append({"role": "assistant", "text": scrub(_cut(turn.answer))})
        proposal = turn.proposal or Proposal.hold(turn.symbol, scrub(_cut(turn.answer, 500)))
        return Trace(
            run_id=chat_run_id(turn.thread),
            seq=seq,
            ts=turn.at_ms,
            symbol=turn.symbol,
            market_source=self.market_source,
            inputs_hash=hashlib.sha256(turn.text.encode()).hexdigest()[:16],
            features={},
            analyst=ANALYST,
            model=turn.model,
            prompt_version=turn.prompt_version,
            messages=tuple(conversation),
            llm=dict(turn.usage),
            proposal=proposal,
            verdict=turn.verdict,
            refusals=turn.refusals,
            order=turn.order,
            fills=turn.fills,
            trading_state=turn.trading_state,
            equity=turn.equity,
            latency_ms=dict(turn.latency_ms),
            events=tuple(events),
        )


def _call_event(call: ToolRun, at_ms: int, scrub: Scrubber) -> TraceEvent:
    import json

    given = _cut(json.dumps(call.input, sort_keys=True, default=str), 500)
    outcome = f"{call.result_chars} chars" if call.ok else f"error: {_cut(call.error, 300)}"
    return TraceEvent(ts=at_ms, kind="chat_tool", detail=scrub(f"{call.name} {given} -> {outcome}"))


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
