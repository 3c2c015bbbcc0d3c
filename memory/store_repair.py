"""Rebuilding the vector index a killed writer tore, from the embedded store's own records.

chromadb's PersistentClient keeps every record (id, document, metadata) in `chroma.sqlite3`,
and each collection's HNSW vector index in a folder named after its vector segment, written
in place every `sync_threshold` records. A SIGKILL during that write leaves the folder torn
(a truncated pickle or level-0 file), and every later read of the collection fails. The index
is derived data: every vector this project stores follows from the record itself (a trace's
or a lesson's document through the collection's text embedder, a situation's exact vector in
its metadata, a run head's constant). So the writer rebuilds it: it removes the torn folder
only (never the SQLite records), lets chromadb start an empty index, and upserts each record's
vector again. A marker file says a rebuild is under way, so a kill during the rebuild is
finished by the next writer. Readers change nothing: they say in one line that the next run
rebuilds the index.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import struct
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import UserError
from core.text import shown

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

PENDING = "vector-rebuild.pending"
"""In the data directory: the collections whose index rebuild has begun and not finished."""
REBUILDS_LOG = "vector-rebuilds.log"
"""In the data directory: one line per rebuild, for the operator (`audit verify` notes it)."""
HNSW_HEADER = struct.Struct("<iQQQQQQiIQQQdQ")
"""chroma-hnswlib's header.bin, version 1: version, offsetLevel0, max_elements,
cur_element_count, size_data_per_element, label_offset, offsetData, maxlevel, enterpoint,
maxM, maxM0, M, mult, ef_construction."""
READER_RETRIES = 3
"""A reader that finds a torn index looks again: a live writer may be mid-write."""
REBUILD_CHUNK = 1_000


class MemoryStoreDamagedError(UserError):
    """The embedded vector store cannot be read (a process killed while chromadb wrote it)."""


class _NoVectorError(Exception):
    """A record whose vector cannot be derived from the record itself."""


def opened_whole(
    data_dir: Path, open_client: Callable[[], ClientAPI], *, repair: bool
) -> ClientAPI:
    """The embedded store opened by `open_client`, every collection's vector index readable.

    A torn index is rebuilt when `repair` (this process holds the writer lock); otherwise
    MemoryStoreDamagedError says so in one line, and nothing in the store is changed."""
    from memory.store import sole_client

    chroma = data_dir / "chroma"
    pending = _pending(data_dir)
    torn = _torn_segments(chroma, looks=1 if repair else READER_RETRIES)
    if not repair and (pending or torn):
        raise _awaiting(chroma, sorted({*pending, *torn}))
    if pending or torn:  # a rebuild a kill cut short starts again from an empty index
        _mark(data_dir, {*pending, *torn})
        folders = _segment_folders(chroma)
        for name in {*pending, *torn}:
            if name in folders:
                shutil.rmtree(folders[name], ignore_errors=True)
    client = open_client()
    unreadable = _unreadable(client, skip={*pending, *torn})
    if unreadable:
        if not repair or not sole_client(client):  # a folder in use here stays as it is
            client.close()  # type: ignore[attr-defined]
            raise _awaiting(chroma, unreadable)
        folders = _segment_folders(chroma)
        _mark(data_dir, {*pending, *torn, *unreadable})
        client.close()  # type: ignore[attr-defined]
        for name in unreadable:
            if name in folders:
                shutil.rmtree(folders[name], ignore_errors=True)
        client = open_client()
    for name in sorted(_pending(data_dir)):
        _rebuild_one(data_dir, client, name)
    return client


def _rebuild_one(data_dir: Path, client: ClientAPI, name: str) -> None:
    chroma = data_dir / "chroma"
    try:
        records = rebuild(client.get_collection(name, embedding_function=None))
    except Exception as exc:  # the records themselves cannot be read: nothing to rebuild from
        why = shown(f"{exc.__class__.__name__}: {exc}", one_line=True)[:160]
        raise MemoryStoreDamagedError(
            f"the memory store {chroma} has a torn vector index ({name}) that cannot be rebuilt "
            f"from its records ({why}): move that folder aside (kept for the audit) and the "
            "next run starts its traces and memory afresh"
        ) from None
    line = (
        f"memory store: rebuilt the vector index of {name} from {records:,} stored records "
        "(a process was killed while writing it)"
    )
    print(line, file=sys.stderr, flush=True)
    with contextlib.suppress(OSError), open(data_dir / REBUILDS_LOG, "a", encoding="utf-8") as f:
        f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} {line}\n")
    _mark(data_dir, _pending(data_dir) - {name})


def rebuild(collection: Collection) -> int:
    """Give every record of `collection` its vector again, derived from the record; how many.
    An upsert of the vector alone leaves documents and metadata as they are."""
    vectors_of = _vector_source(collection.metadata or {})
    ids = [i for page in _pages(collection, []) for i in page["ids"]]
    for start in range(0, len(ids), REBUILD_CHUNK):
        got = collection.get(
            ids=ids[start : start + REBUILD_CHUNK], include=["documents", "metadatas"]
        )
        vectors = vectors_of(got["documents"] or [], got["metadatas"] or [])
        collection.upsert(ids=got["ids"], embeddings=vectors)  # type: ignore[arg-type]
    return len(ids)


def _pages(collection: Collection, include: list[str]) -> Any:
    from memory.store import pages

    return pages(collection, include)


def _vector_source(
    metadata: Mapping[str, Any],
) -> Callable[[Sequence[str | None], Sequence[Mapping[str, Any]]], list[list[float]]]:
    """How a record's vector follows from the record, by the collection's `embedding`."""
    from memory.embeddings import EMBEDDINGS, text_embedder
    from memory.situations import VECTOR
    from memory.store import FEATURES

    kind = str(metadata.get("embedding", ""))
    name, _, dim = kind.rpartition("-")
    if kind == "none-1":  # run heads: no meaning in the vector
        return lambda documents, _: [[1.0] for _ in documents]
    if kind == FEATURES:

        def kept(_: Sequence[str | None], metas: Sequence[Mapping[str, Any]]) -> list[list[float]]:
            if any(VECTOR not in m for m in metas):
                raise _NoVectorError("a situation without its vector in its metadata")
            return [[float(x) for x in json.loads(str(m[VECTOR]))] for m in metas]

        return kept
    if name in EMBEDDINGS:
        embedder = text_embedder(name)
        if str(embedder.dim) != dim:
            raise _NoVectorError(f"embedding {kind!r} is not what {name} gives ({embedder.dim})")

        def embedded(docs: Sequence[str | None], _: Sequence[Mapping[str, Any]]) -> Any:
            if any(d is None for d in docs):
                raise _NoVectorError("a record without its document")
            return embedder.embed([str(d) for d in docs])

        return embedded
    raise _NoVectorError(
        f"collection embedded with {kind!r}, which this tradegraph cannot recompute"
    )


def _unreadable(client: ClientAPI, skip: set[str]) -> list[str]:
    """The collections chromadb fails to read (its index cannot be loaded or brought up to
    date with its log): one record and its nearest neighbour, the cheapest full read."""
    import chromadb.errors

    failing = []
    for collection in client.list_collections():
        if collection.name in skip:
            continue
        try:
            got = collection.get(limit=1, include=["embeddings"])
            embeddings = got["embeddings"]
            if embeddings is not None and len(embeddings):
                nearest = [[float(x) for x in embeddings[0]]]
                collection.query(query_embeddings=nearest, n_results=1, include=[])  # type: ignore[arg-type]
        except chromadb.errors.InternalError:
            failing.append(collection.name)
    return failing


def _torn_segments(chroma: Path, looks: int) -> dict[str, Path]:
    """The collections whose index folder is inconsistent on disk (file sizes against the
    header), by name; looked at `looks` times, a short while apart, before it counts."""
    torn: dict[str, Path] = {}
    for attempt in range(looks):
        if attempt:
            time.sleep(0.4)
        torn = {name: f for name, f in _segment_folders(chroma).items() if _is_torn(f)}
        if not torn:
            return {}
    return torn


def _segment_folders(chroma: Path) -> dict[str, Path]:
    """Each collection's HNSW folder (present or not), read from chromadb's own catalogue."""
    database = chroma / "chroma.sqlite3"
    if not database.is_file():
        return {}
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute(
                "SELECT c.name, s.id FROM segments s JOIN collections c ON c.id = s.collection "
                "WHERE s.scope = 'VECTOR'"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return {}  # chromadb says what is wrong with its catalogue when it opens it
    return {str(name): chroma / str(segment) for name, segment in rows}


def _is_torn(folder: Path) -> bool:
    """Whether an HNSW folder was left half-written: its files do not agree with its header.
    chromadb writes the level-0 data and the vector norms (`length.bin`) for the elements it
    holds, or for its whole capacity (a fresh index); the upper levels' links, one sized list
    per element; and the id mapping (a pickle) once it holds any element."""
    if not folder.is_dir():
        return False
    try:
        header = (folder / "header.bin").read_bytes()
        if len(header) != HNSW_HEADER.size:
            return True
        fields = HNSW_HEADER.unpack(header)
        if fields[0] != 1:
            return False  # another layout than this chromadb's: not ours to judge
        capacity, count, per_element = fields[2], fields[3], fields[4]
        sizes = {
            name: (folder / name).stat().st_size
            for name in ("data_level0.bin", "length.bin", "link_lists.bin")
        }
        return (
            sizes["data_level0.bin"] not in (count * per_element, capacity * per_element)
            or sizes["length.bin"] not in (4 * count, 4 * capacity)
            or not _whole_link_lists(folder / "link_lists.bin", count)
            or (count > 0 and not _ends_a_pickle(folder / "index_metadata.pickle"))
        )
    except (OSError, struct.error):
        return True


def _whole_link_lists(path: Path, count: int) -> bool:
    """Whether `path` holds exactly `count` length-prefixed link lists."""
    data = path.read_bytes()
    at = 0
    for _ in range(count):
        if at + 4 > len(data):
            return False
        (size,) = struct.unpack_from("<I", data, at)
        at += 4 + size
    return at == len(data)


def _ends_a_pickle(path: Path) -> bool:
    """A complete pickle ends with its STOP opcode (checked without unpickling anything)."""
    if path.stat().st_size == 0:
        return False
    with open(path, "rb") as f:
        f.seek(-1, 2)
        return f.read(1) == b"."


def rebuilds_note(data_dir: Path) -> str | None:
    """One line for the operator when this data directory's writers rebuilt an index."""
    try:
        text = (data_dir / REBUILDS_LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    done = [line for line in text.splitlines() if line.strip()]
    if not done:
        return None
    return (
        f"{len(done)} vector index rebuild(s) after a killed writer tore one, from the store's "
        f"own records (last: {done[-1][:23]}): see {data_dir / REBUILDS_LOG}"
    )


def _pending(data_dir: Path) -> set[str]:
    try:
        names = json.loads((data_dir / PENDING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {str(n) for n in names} if isinstance(names, list) else set()


def _mark(data_dir: Path, names: set[str]) -> None:
    """Record the rebuilds under way (atomically), or remove the marker when none is."""
    path = data_dir / PENDING
    if not names:
        path.unlink(missing_ok=True)
        return
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(sorted(names)), encoding="utf-8")
    partial.replace(path)


def _awaiting(chroma: Path, names: Sequence[str]) -> MemoryStoreDamagedError:
    return MemoryStoreDamagedError(
        f"the memory store {chroma} has a torn vector index ({', '.join(names)}: a process "
        "was killed while writing it); nothing was lost: the next run rebuilds it from the "
        "store's own records"
    )
