"""Situations and lessons looked up for a person: by id (what a trace recalled), by the trace
that recorded them, and lessons by meaning. Reads only; recall inside a cycle is
`SituationMemory`/`LessonMemory`, point in time, and never goes through here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from memory.embeddings import TextEmbedder
from memory.lessons import COLLECTION as LESSONS
from memory.lessons import Lesson, lesson_from_record
from memory.situations import COLLECTION as SITUATIONS
from memory.situations import StoredSituation, situation_from_record

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection


def _collection(client: ClientAPI, name: str) -> Collection | None:
    """The collection, or None when the store has none (memory off, or an older store)."""
    try:
        return client.get_collection(name, embedding_function=None)
    except Exception:
        return None


def situations_by_id(client: ClientAPI, ids: Sequence[str]) -> list[StoredSituation]:
    """The stored situations with these ids, in the order asked (unknown ids left out)."""
    found = _collection(client, SITUATIONS)
    if found is None or not ids:
        return []
    got = found.get(ids=list(ids), include=["metadatas", "embeddings"])
    return _situations(got, order=list(ids))


def situations_of_traces(client: ClientAPI, trace_ids: Sequence[str]) -> list[StoredSituation]:
    """The situations the given traces recorded (a cycle whose outcome is not known yet has
    none stored), in the order of `trace_ids`."""
    found = _collection(client, SITUATIONS)
    if found is None or not trace_ids:
        return []
    where: Any = {"trace_id": {"$in": list(trace_ids)}}
    got = found.get(where=where, include=["metadatas", "embeddings"])
    situations = _situations(got, order=None)
    rank = {trace_id: i for i, trace_id in enumerate(trace_ids)}
    return sorted(situations, key=lambda s: rank.get(s.trace_id, len(rank)))


def _situations(got: Any, order: list[str] | None) -> list[StoredSituation]:
    embeddings = got["embeddings"]
    rows = zip(
        got["ids"],
        got["metadatas"] or [],
        [[] for _ in got["ids"]] if embeddings is None else embeddings,
        strict=True,
    )
    loaded = {
        i: situation_from_record(i, m, v) for i, m, v in rows if "known_at" in m and "outcome" in m
    }
    keys = order if order is not None else list(loaded)
    return [loaded[i] for i in keys if i in loaded]


def lessons_by_id(client: ClientAPI, ids: Sequence[str]) -> list[Lesson]:
    """The stored lessons with these ids, in the order asked (unknown ids left out)."""
    found = _collection(client, LESSONS)
    if found is None or not ids:
        return []
    got = found.get(ids=list(ids), include=["metadatas", "documents"])
    loaded = {
        i: lesson_from_record(i, m, doc)
        for i, m, doc in zip(
            got["ids"], got["metadatas"] or [], got["documents"] or [], strict=True
        )
    }
    return [loaded[i] for i in ids if i in loaded]


def search_lessons(
    client: ClientAPI,
    embedder: TextEmbedder,
    text: str,
    *,
    symbol: str | None = None,
    limit: int = 5,
) -> list[tuple[Lesson, float]]:
    """Lessons nearest in meaning to `text` (of one symbol, if given), nearest first, with
    their distance. Lessons embedded by another embedder cannot be compared: none."""
    found = _collection(client, LESSONS)
    if found is None or found.count() == 0:
        return []
    if (found.metadata or {}).get("embedding") != f"{embedder.name}-{embedder.dim}":
        return []
    got = found.query(
        query_embeddings=[embedder.embed([text])[0]],  # type: ignore[arg-type]
        n_results=min(limit, found.count()),
        where={"symbol": symbol} if symbol else None,
        include=["metadatas", "documents", "distances"],
    )
    ids = got["ids"][0] if got["ids"] else []
    metadatas = (got["metadatas"] or [[]])[0]
    documents = (got["documents"] or [[]])[0]
    distances = (got["distances"] or [[]])[0]
    return [
        (lesson_from_record(i, m, doc), float(d))
        for i, m, doc, d in zip(ids, metadatas, documents, distances, strict=True)
    ]
