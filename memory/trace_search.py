"""`tradegraph audit search`: stored traces nearest in meaning to a text, among those matching
every filter.

The normal path is chroma's filtered vector query (HNSW with a `where` filter). That query can
come back short: the index is searched from the query's nearest neighbourhood, and when that
neighbourhood is a cluster of identical headlines that fail the filter (hundreds of "warming
up" HOLDs, or a stress run's identical denials), the search can exhaust the cluster and return
fewer matches than exist, even none. So whenever it returns fewer than asked, every matching
trace is read with a filtered `get` and ranked here by the collection's own distance, which
makes the answer exact (all matches when there are fewer than the limit, else the nearest).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from memory.embeddings import TextEmbedder
from memory.store import pages

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

PAGE = 2_000
"""Embeddings read per `get` while ranking locally: memory stays bounded on a large store."""


@dataclass(frozen=True)
class SearchHit:
    id: str
    distance: float
    ts: int
    symbol: str
    action: str
    verdict: str
    headline: str
    outcome_24: float | None


def search(
    traces: Collection,
    embedder: TextEmbedder,
    text: str,
    *,
    filters: Mapping[str, Any],
    limit: int = 10,
) -> list[SearchHit]:
    """Traces nearest in meaning to `text` among those matching every filter (symbol, action,
    verdict, run_id, ts_from, ts_to), nearest first, at most `limit`."""
    where = where_clause(filters)
    query = embedder.embed([text])[0]
    got = traces.query(
        query_embeddings=[query],  # type: ignore[arg-type]
        n_results=limit,
        where=where,
        include=["metadatas", "documents", "distances"],
    )
    ids = got["ids"][0] if got["ids"] else []
    if len(ids) >= limit:
        metadatas = (got["metadatas"] or [[]])[0]
        documents = (got["documents"] or [[]])[0]
        distances = (got["distances"] or [[]])[0]
        return [
            _hit(i, float(d), m, doc)
            for i, m, doc, d in zip(ids, metadatas, documents, distances, strict=True)
        ]
    return ranked_matches(traces, query, where=where, limit=limit)


def ranked_matches(
    traces: Collection, query: Sequence[float], *, where: dict[str, Any] | None, limit: int
) -> list[SearchHit]:
    """Every trace matching `where`, ranked by the collection's distance to `query` (ties by
    id, so the answer is deterministic); the `limit` nearest, nearest first."""
    distance = distance_function(traces)
    best: list[tuple[float, str]] = []
    for page in pages(traces, ["embeddings"], where=where, size=PAGE):
        embeddings = page["embeddings"]
        if embeddings is None or not len(embeddings):
            continue
        scored = zip(distance(np.asarray(embeddings), np.asarray(query)), page["ids"], strict=True)
        best = heapq.nsmallest(limit, [*best, *((float(d), i) for d, i in scored)])
    if not best:
        return []
    got = traces.get(ids=[i for _, i in best], include=["metadatas", "documents"])
    rows = {
        i: (m, doc)
        for i, m, doc in zip(
            got["ids"], got["metadatas"] or [], got["documents"] or [], strict=True
        )
    }
    return [_hit(i, d, *rows[i]) for d, i in best if i in rows]


def distance_function(traces: Collection) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The distance the collection's index ranks by, as hnswlib computes it (in float32):
    cosine 1 - cos, ip 1 - dot, l2 the squared euclidean distance (chroma's default)."""
    hnsw = (traces.configuration or {}).get("hnsw") or {}
    space = str(hnsw.get("space") or "l2")

    def cosine(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        similarity: np.ndarray = _unit(rows) @ _unit(query[None, :])[0]
        return 1.0 - similarity

    def inner_product(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        return 1.0 - rows.astype(np.float32) @ query.astype(np.float32)

    def squared_l2(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        diff = rows.astype(np.float32) - query.astype(np.float32)
        squared: np.ndarray = np.einsum("ij,ij->i", diff, diff)
        return squared

    functions = {"cosine": cosine, "ip": inner_product, "l2": squared_l2}
    if space not in functions:
        raise ValueError(f"the trace collection uses an unknown distance {space!r}")
    return functions[space]


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def _hit(id_: str, distance: float, m: Mapping[str, Any], document: str | None) -> SearchHit:
    return SearchHit(
        id=id_,
        distance=distance,
        ts=int(m["ts"]),
        symbol=str(m["symbol"]),
        action=str(m["action"]),
        verdict=str(m["verdict"]),
        headline=document or "",
        outcome_24=float(m["outcome_24"]) if "outcome_24" in m else None,
    )


def where_clause(filters: Mapping[str, Any]) -> dict[str, Any] | None:
    terms: list[dict[str, Any]] = []
    for key in ("symbol", "action", "verdict", "run_id"):
        if filters.get(key) is not None:
            terms.append({key: filters[key]})
    if filters.get("ts_from") is not None:
        terms.append({"ts": {"$gte": int(filters["ts_from"])}})
    if filters.get("ts_to") is not None:
        terms.append({"ts": {"$lte": int(filters["ts_to"])}})
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else {"$and": terms}
