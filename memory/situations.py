"""Situation memory: feature vectors of past cycles and what happened after them.

A situation is one cycle's feature vector (`Features.vector()`: 8 fixed dimensions, each scaled
to about [-1, 1]) and, once its horizons have passed, its outcome over 1, 6 and 24 candles
(forward return and maximum adverse excursion). It enters the recall index only when its last
horizon has passed, and `known_at` records that moment, so everything recall returns was known
at the time of the query, by construction.

Memory outlives a run: situations persisted by earlier runs in the same store are loaded at
start and released into the index as the clock passes their `known_at`, so a replay of 2021
never sees what a replay of 2023 learned, while a live run sees all of it. A situation's id
names the market moment (symbol, timeframe and candle; the seed too for synthetic markets),
so the same moment seen again is not counted twice, and replaying the same market twice
recalls the same situations at every step.

The hot path (one recall per cycle) is a NumPy cosine search; chromadb keeps the durable copy.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.types import HorizonOutcome, MarketInfo, RecalledSituation, canonical_json
from memory.known_situations import KnownSituations
from memory.store import pages
from memory.vector_index import VectorIndex
from memory.writer import InlineWriter, StoreWriteError, StoreWriter, Ticket, Write

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

COLLECTION = "situations"
VECTOR = "vector"
CONTENT_HASH = "sha256"
"""The metadata key of a stored situation's (or lesson's) content hash, checked by verify."""
HORIZONS = (1, 6, 24)
"""Candles after a situation at which its outcome is read; the last one makes it recallable."""
PERSIST_BATCH = 256
LOAD_PAGE = 10_000


def market_key(info: MarketInfo) -> str:
    """What makes two candles the same market moment: symbol and timeframe, and for a
    synthetic market its seed (two seeds are two different worlds)."""
    world = info.source if info.synthetic else "real"
    return f"{world}|{info.symbol}|{info.timeframe}"


def memory_scope(info: MarketInfo) -> str:
    """Which situations a run learns from: the same world (real markets, or one synthetic
    seed) at the same timeframe, any symbol (the features are scaled alike for every symbol;
    the outcomes are counted in candles, so timeframes do not mix)."""
    world = info.source if info.synthetic else "real"
    return f"{world}|{info.timeframe}"


def situation_id(key: str, ts: int) -> str:
    return f"{hashlib.sha256(key.encode()).hexdigest()[:12]}:{ts}"


@dataclass(frozen=True)
class _Pending:
    id: str
    ts: int
    vector: list[float]
    close: float
    bars_at: int
    stances: dict[str, float]
    trace_id: str


@dataclass(frozen=True)
class StoredSituation:
    """A settled situation with its vector, as persisted and loaded."""

    situation: RecalledSituation
    vector: list[float]
    trace_id: str = ""
    scope: str = ""


class SituationMemory:
    """Point-in-time index of situations whose outcomes are known, with recall."""

    def __init__(
        self,
        collection: Collection | None,
        *,
        symbol: str = "",
        scope: str = "",
        horizons: Sequence[int] = HORIZONS,
        prior: Sequence[StoredSituation] = (),
        enabled: bool = True,
        writer: StoreWriter | None = None,
    ) -> None:
        if not horizons or any(h <= 0 for h in horizons):
            raise ValueError("situation horizons must be positive candle counts")
        self._persist = collection is not None and enabled
        self._writer = writer or InlineWriter({COLLECTION: collection})
        self._in_flight: tuple[Ticket, list[StoredSituation]] | None = None
        self._symbol = symbol
        self._scope = scope
        self._horizons = tuple(sorted(set(horizons)))
        self._enabled = enabled
        self._pending: deque[_Pending] = deque()
        self._window: deque[tuple[float, float]] = deque(maxlen=self._horizons[-1])
        self._index_rows = VectorIndex()
        self._known = KnownSituations()
        self._ids: set[str] = set()
        self._future = sorted(prior, key=lambda s: (s.situation.known_at, s.situation.id))
        if not enabled:
            self._future = []
        self._next_future = 0
        self._to_persist: list[StoredSituation] = []

    def __len__(self) -> int:
        return len(self._known)

    @property
    def horizon(self) -> int:
        return self._horizons[-1]

    def observe(self, *, bars: int, close: float, low: float, now_ms: int) -> list[StoredSituation]:
        """A candle closed at `now_ms`: release what became known by now, and settle every
        pending situation whose last horizon has now passed; returns those just settled."""
        self._window.append((close, low))
        while (
            self._next_future < len(self._future)
            and self._future[self._next_future].situation.known_at <= now_ms
        ):
            stored = self._future[self._next_future]
            self._next_future += 1
            self._index(stored.situation, stored.vector)
        if self._future and self._next_future == len(self._future):
            self._future, self._next_future = [], 0  # all indexed: the copies can go
        settled = []
        longest = self._horizons[-1]
        while self._pending and bars - self._pending[0].bars_at >= longest:
            settled.append(self._settle(self._pending.popleft(), bars, now_ms))
        if len(self._to_persist) >= PERSIST_BATCH:
            self.flush()
        return settled

    def remember(
        self,
        *,
        id: str,
        ts: int,
        vector: list[float],
        close: float,
        bars: int,
        stances: Mapping[str, float] | None = None,
        trace_id: str = "",
    ) -> None:
        """Queue this cycle's situation; it becomes recallable when its outcome is known.

        `stances` are the offline personas' positions here (1 long, 0 flat); with the outcome
        they become what each persona would have earned, for the meta-selector. With memory
        off the outcome is still read (for the trace), but nothing is indexed or stored."""
        self._pending.append(
            _Pending(
                id=id,
                ts=ts,
                vector=stored_exactly(vector),
                close=close,
                bars_at=bars,
                stances=dict(stances or {}),
                trace_id=trace_id,
            )
        )

    def recall(self, vector: Sequence[float], k: int) -> tuple[RecalledSituation, ...]:
        """The k most similar known situations, most similar first (ties: oldest first)."""
        return tuple(
            self._known.situation(i, round(score, 6))
            for i, score in self._index_rows.top(vector, k)
        )

    def _settle(self, p: _Pending, bars: int, now_ms: int) -> StoredSituation:
        """Read every horizon's outcome from the window of candles after the situation (every
        value is computed here, as float or int, so the models are built without validation:
        this runs every cycle)."""
        first = bars - len(self._window) + 1  # the bar count of the window's first candle
        outcomes = []
        for h in self._horizons:
            after = [self._window[j - first] for j in range(p.bars_at + 1, p.bars_at + h + 1)]
            worst = min(low for _, low in after)
            outcomes.append(
                HorizonOutcome.model_construct(
                    candles=h,
                    forward_return=_exact(after[-1][0] / p.close - 1.0),
                    max_adverse=_exact(min(0.0, worst / p.close - 1.0)),
                )
            )
        last = outcomes[-1]
        situation = RecalledSituation.model_construct(
            id=p.id,
            ts=p.ts,
            similarity=1.0,
            forward_return=last.forward_return,
            max_adverse=last.max_adverse,
            symbol=self._symbol,
            known_at=now_ms,
            horizons=tuple(outcomes),
            persona_returns={
                name: _exact(float(stance) * last.forward_return)
                for name, stance in p.stances.items()
            },
        )
        stored = StoredSituation(situation, p.vector, p.trace_id, self._scope)
        if self._enabled and self._index(situation, p.vector):
            self._to_persist.append(stored)
        return stored

    def _index(self, situation: RecalledSituation, vector: Sequence[float]) -> bool:
        """Add to the recall index unless this market moment is already in it."""
        if situation.id in self._ids:
            return False
        self._ids.add(situation.id)
        self._index_rows.add(vector)
        self._known.add(situation)
        return True

    def flush(self) -> None:
        """Persist the situations settled since the last flush. A failure keeps them for the
        next try: they are learning material, not the audit trail, so trading goes on."""
        self.settle()
        if not self._persist or not self._to_persist:
            return
        batch, self._to_persist = self._to_persist, []
        write = Write(
            COLLECTION,
            ids=[s.situation.id for s in batch],
            embeddings=[s.vector for s in batch],
            metadatas=[sealed_metadata(s.situation.id, _metadata(s), s.vector) for s in batch],
        )
        self._in_flight = (self._writer.submit([write]), batch)
        if not self._writer.deferred:
            self.settle()

    def settle(self) -> None:
        """Wait for the situations in flight; if they were not written, keep them."""
        flight, self._in_flight = self._in_flight, None
        if flight is None:
            return
        try:
            flight[0].result()
        except StoreWriteError:
            self._to_persist = [*flight[1], *self._to_persist]


def content_hash(id: str, metadata: Mapping[str, Any]) -> str:
    """The sha256 of a stored record's content: its id and every metadata field but the hash."""
    body = {"id": id, "metadata": {k: v for k, v in metadata.items() if k != CONTENT_HASH}}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def sealed_metadata(id: str, metadata: dict[str, Any], vector: Sequence[float]) -> dict[str, Any]:
    """The metadata with the vector (the store gives embeddings back only to about a float32
    ulp, so the exact one is kept here) and the content hash: situations steer later
    decisions, so `audit verify` checks that none was edited since it was written."""
    kept = {**metadata, VECTOR: json.dumps([float(x) for x in vector])}
    return {**kept, CONTENT_HASH: content_hash(id, kept)}


def vector_matches(metadata: Mapping[str, Any], embedding: Sequence[float]) -> bool:
    """Whether the stored embedding (what recall compares) is the vector the hash covers."""
    try:
        kept = json.loads(str(metadata.get(VECTOR)))
        return len(kept) == len(embedding) and all(
            abs(float(a) - float(b)) <= 1e-6 for a, b in zip(kept, embedding, strict=True)
        )
    except (TypeError, ValueError):
        return False


def stored_exactly(vector: Sequence[float]) -> list[float]:
    """The vector as chroma will give it back (float32), so that a situation recalled from this
    run and the same one loaded by a later run compare equal to the last bit."""
    return np.asarray(vector, dtype=np.float32).astype(np.float64).tolist()  # type: ignore[no-any-return]


def _exact(x: float) -> float:
    """An outcome rounded so that it survives chroma's metadata round trip unchanged."""
    return round(x, 12)


def _metadata(stored: StoredSituation) -> dict[str, Any]:
    """What a persisted situation carries: the fields to filter on, and the outcome packed in
    one JSON field (chroma's write cost grows with every metadata key)."""
    s = stored.situation
    outcome = {
        "max_adverse": s.max_adverse,
        "horizons": [[h.candles, h.forward_return, h.max_adverse] for h in s.horizons],
        "personas": s.persona_returns,
    }
    return {
        "ts": s.ts,
        "known_at": s.known_at,
        "symbol": s.symbol,
        "scope": stored.scope,
        "trace_id": stored.trace_id,
        "forward_return": s.forward_return,
        "outcome": json.dumps(outcome, separators=(",", ":")),
    }


def situation_from_record(
    id: str, meta: Mapping[str, Any], vector: Sequence[float]
) -> StoredSituation:
    """A stored situation from its record (id, metadata, embedding)."""
    outcome = json.loads(str(meta["outcome"]))
    situation = RecalledSituation(
        id=id,
        ts=int(meta["ts"]),
        similarity=1.0,
        forward_return=float(meta["forward_return"]),
        max_adverse=float(outcome["max_adverse"]),
        symbol=str(meta.get("symbol", "")),
        known_at=int(meta["known_at"]),
        horizons=tuple(
            HorizonOutcome(candles=int(c), forward_return=float(r), max_adverse=float(a))
            for c, r, a in outcome["horizons"]
        ),
        persona_returns={str(k): float(v) for k, v in outcome["personas"].items()},
    )
    return StoredSituation(
        situation,
        [float(x) for x in vector],
        str(meta.get("trace_id", "")),
        str(meta.get("scope", "")),
    )


def load_situations(collection: Collection, scope: str | None = None) -> list[StoredSituation]:
    """The persisted situations of `scope` (all when None); SituationMemory releases them
    point in time. A record without its `known_at` is skipped: when it became known cannot
    be told, so it can never be recalled safely."""
    loaded: list[StoredSituation] = []
    where = {"scope": scope} if scope is not None else None
    for page in pages(collection, ["embeddings", "metadatas"], where=where, size=LOAD_PAGE):
        embeddings = page["embeddings"]
        assert embeddings is not None
        rows = zip(page["ids"], page["metadatas"] or [], embeddings, strict=True)
        loaded.extend(
            situation_from_record(i, m, v) for i, m, v in rows if "known_at" in m and "outcome" in m
        )
    return loaded
