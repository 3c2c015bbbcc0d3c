"""Lessons: short texts written when a position closes, recalled for situations like its entry.

A lesson is indexed the moment it is written (`written_at`, the close of the candle on which the
position closed), so recall can only return lessons written at or before the query. Lessons of
earlier runs in the same store are loaded at start and released as the clock passes their
`written_at`, exactly like situations. In chromadb a lesson is embedded by its text (for
`tradegraph audit search`-style lookups) and carries its entry situation's feature vector in
its metadata, which is what recall compares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.types import RecalledLesson
from memory.embeddings import TextEmbedder
from memory.situations import CONTENT_HASH, content_hash
from memory.store import pages
from memory.vector_index import VectorIndex
from memory.writer import InlineWriter, StoreWriteError, StoreWriter, Ticket, Write

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

COLLECTION = "lessons"
MIN_SIMILARITY = 0.5
"""A lesson about an entry less like now than this (cosine of the feature vectors) is noise."""
LOAD_PAGE = 10_000


@dataclass(frozen=True)
class Lesson:
    """A written lesson and what it links to (trades and the entry situation)."""

    id: str
    written_at: int
    symbol: str
    text: str
    author: str
    pnl_fraction: float
    situation_vector: list[float]
    situation_id: str = ""
    entry_trace_id: str = ""
    order_ids: tuple[str, ...] = ()
    persona: str = ""
    """The offline persona that opened the trade ("" when another analyst did)."""
    pnl_atr: float = 0.0
    """`pnl_fraction` in ATRs of the entry."""


class LessonMemory:
    def __init__(
        self,
        collection: Collection | None,
        embedder: TextEmbedder | None,
        *,
        prior: Sequence[Lesson] = (),
        enabled: bool = True,
        scope: str = "",
        writer: StoreWriter | None = None,
    ) -> None:
        self._persist = collection is not None and embedder is not None and enabled
        self._writer = writer or InlineWriter({COLLECTION: collection}, embedder)
        self._in_flight: tuple[Ticket, list[Lesson]] | None = None
        self._enabled = enabled
        self._scope = scope
        self._lessons: list[Lesson] = []
        self._ids: set[str] = set()
        self._index_rows = VectorIndex()
        self._future = sorted(prior, key=lambda lesson: (lesson.written_at, lesson.id))
        self._next_future = 0
        self._unsaved: list[Lesson] = []
        self.written: list[Lesson] = []
        """Lessons written in this run, oldest first."""

    def __len__(self) -> int:
        return len(self._lessons)

    @property
    def enabled(self) -> bool:
        return self._enabled

    def advance(self, now_ms: int) -> None:
        """Release earlier runs' lessons written at or before `now_ms`."""
        while (
            self._next_future < len(self._future)
            and self._future[self._next_future].written_at <= now_ms
        ):
            self._index(self._future[self._next_future])
            self._next_future += 1

    def add(self, lesson: Lesson) -> None:
        """A lesson just written: recallable from now on, persisted at the next flush."""
        if not self._enabled:
            return
        self.written.append(lesson)
        if self._index(lesson):
            self._unsaved.append(lesson)

    def recall(self, vector: Sequence[float], k: int) -> tuple[RecalledLesson, ...]:
        return tuple(
            RecalledLesson(
                id=self._lessons[i].id,
                written_at=self._lessons[i].written_at,
                symbol=self._lessons[i].symbol,
                similarity=round(score, 6),
                text=self._lessons[i].text,
                pnl_fraction=self._lessons[i].pnl_fraction,
                persona=self._lessons[i].persona,
                pnl_atr=self._lessons[i].pnl_atr,
            )
            for i, score in self._index_rows.top(vector, k)
            if score >= MIN_SIMILARITY
        )

    def flush(self) -> None:
        """Persist the lessons written since the last flush; kept for the next try on failure
        (lessons are learning material, not the audit trail: a failure must not stop trading)."""
        self.settle()
        if not self._persist or not self._unsaved:
            return
        batch, self._unsaved = self._unsaved, []
        write = Write(
            COLLECTION,
            ids=[lesson.id for lesson in batch],
            documents=[lesson.text for lesson in batch],
            metadatas=[lesson_metadata(lesson, self._scope) for lesson in batch],
        )
        self._in_flight = (self._writer.submit([write]), batch)
        if not self._writer.deferred:
            self.settle()

    def settle(self) -> None:
        """Wait for the lessons in flight; if they were not written, keep them for later."""
        flight, self._in_flight = self._in_flight, None
        if flight is None:
            return
        try:
            flight[0].result()
        except StoreWriteError:
            self._unsaved = [*flight[1], *self._unsaved]

    def _index(self, lesson: Lesson) -> bool:
        """Add to the recall index unless a lesson with this id (the same trade closing at the
        same market moment, seen by an earlier replay) is already in it."""
        if lesson.id in self._ids:
            return False
        self._ids.add(lesson.id)
        self._index_rows.add(lesson.situation_vector)
        self._lessons.append(lesson)
        return True


def lesson_metadata(lesson: Lesson, scope: str) -> dict[str, Any]:
    """What a persisted lesson carries, with the hash of its content (its text too)."""
    metadata: dict[str, Any] = {
        "written_at": lesson.written_at,
        "scope": scope,
        "symbol": lesson.symbol,
        "author": lesson.author,
        "pnl_fraction": round(lesson.pnl_fraction, 12),  # survives the store's round trip
        "situation_vector": json.dumps(lesson.situation_vector),
        "situation_id": lesson.situation_id,
        "entry_trace_id": lesson.entry_trace_id,
        "order_ids": ",".join(lesson.order_ids),
        "persona": lesson.persona,
        "pnl_atr": round(lesson.pnl_atr, 12),
    }
    return {**metadata, CONTENT_HASH: lesson_hash(lesson.id, metadata, lesson.text)}


def lesson_hash(id: str, metadata: Mapping[str, Any], text: str) -> str:
    """A lesson's content hash: its metadata (but the hash) and its text."""
    return content_hash(id, {**metadata, "text": text})


def load_lessons(collection: Collection, scope: str | None = None) -> list[Lesson]:
    """The persisted lessons of `scope` (all when None), released later by `written_at`."""
    loaded: list[Lesson] = []
    where = {"scope": scope} if scope is not None else None
    include = ["metadatas", "documents"]
    for page in pages(collection, include, where=where, size=LOAD_PAGE):
        loaded.extend(
            lesson_from_record(id_, meta, text)
            for id_, meta, text in zip(
                page["ids"], page["metadatas"] or [], page["documents"] or [], strict=True
            )
        )
    return loaded


def lesson_from_record(id_: str, meta: Mapping[str, Any], text: str | None) -> Lesson:
    """A stored lesson from its record (id, metadata, text)."""
    order_ids = str(meta.get("order_ids", ""))
    return Lesson(
        id=id_,
        written_at=int(meta["written_at"]),
        symbol=str(meta.get("symbol", "")),
        text=str(text),
        author=str(meta.get("author", "")),
        pnl_fraction=float(meta.get("pnl_fraction", 0.0)),
        situation_vector=json.loads(str(meta["situation_vector"])),
        situation_id=str(meta.get("situation_id", "")),
        entry_trace_id=str(meta.get("entry_trace_id", "")),
        order_ids=tuple(order_ids.split(",")) if order_ids else (),
        persona=str(meta.get("persona", "")),
        pnl_atr=float(meta.get("pnl_atr", 0.0)),
    )
