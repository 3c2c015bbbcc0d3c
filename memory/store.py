"""Opening the chromadb store: embedded PersistentClient in the data directory by default, a
Chroma server through HttpClient when `chroma_url` (TRADEGRAPH_CHROMA_URL) is set.

Every collection records the store format and the embedding it was written with. A collection
written by another format or embedding, or by another program, is refused with one line rather
than mixed with new records. Embeddings are always supplied by the project (feature vectors or
the configured text embedder), so no collection ever falls back to chroma's default model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from core.errors import UserError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import GetResult

STORE_FORMAT = 2
"""1: traces embedded by their feature vector, situations with one horizon (before audit and
lessons); 2: traces embedded by text, situations with 1/6/24-candle outcomes, lessons."""
FEATURES = "features-8"


def open_chroma(data_dir: Path, url: str | None = None) -> ClientAPI:
    """The store: the server at `url`, else a PersistentClient in `data_dir/chroma`, its
    vector indexes readable (a writer rebuilds one a killed process tore: `store_repair`)."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if url:
        host, port, ssl = _parse_url(url)
        try:
            client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
            client.heartbeat()
        except Exception as exc:
            raise UserError(
                f"cannot reach the Chroma server at {url} ({exc.__class__.__name__}): start it "
                "(chroma run --host 127.0.0.1 --port 8000 --path DIR) or unset "
                "TRADEGRAPH_CHROMA_URL to use the data directory"
            ) from None
        return client
    from core.writer_lock import held_here
    from memory.store_repair import opened_whole

    path = data_dir / "chroma"

    def persistent() -> ClientAPI:
        try:
            return chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as exc:
            raise UserError(
                f"cannot open the vector store at {path} ({exc.__class__.__name__}: {exc}): "
                "move it aside or pass another --data-dir"
            ) from None

    return opened_whole(data_dir, persistent, repair=held_here(data_dir))


def sole_client(client: ClientAPI) -> bool:
    """True if `client` is the only open client on its embedded store in this process.

    chromadb shares one running system between the clients of a folder; a running system
    does not see what another process writes to the folder (its cached indexes go stale), so
    a writer process may only be used when releasing this client really stops that system."""
    from chromadb.api.shared_system_client import SharedSystemClient

    identifier = getattr(client, "_identifier", None)
    counts = getattr(SharedSystemClient, "_identifier_to_refcount", None)
    if identifier is None or not isinstance(counts, dict):
        return False
    own = 2 if hasattr(client, "_admin_client") else 1  # a client counts its admin client too
    return counts.get(identifier) == own


def release_chroma(client: ClientAPI) -> None:
    """Let go of an embedded client: with no other client on the folder in this process, its
    system stops, and the next client opened on it reads the folder afresh (another process
    may have written to it meanwhile)."""
    client.close()  # type: ignore[attr-defined]


def _parse_url(url: str) -> tuple[str, int, bool]:
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UserError(
            f"TRADEGRAPH_CHROMA_URL {url!r} is not a server address: use http://HOST:PORT"
        )
    ssl = parsed.scheme == "https"
    try:
        port = parsed.port or (443 if ssl else 8000)
    except ValueError:
        raise UserError(f"TRADEGRAPH_CHROMA_URL {url!r} has an invalid port") from None
    return parsed.hostname, port, ssl


def vector_collection(client: ClientAPI, name: str, *, embedding: str = FEATURES) -> Collection:
    """A cosine-space collection of this store format, embedded with `embedding`."""
    expected = {"tradegraph_format": STORE_FORMAT, "embedding": embedding}
    try:
        collection = client.get_or_create_collection(
            name,
            embedding_function=None,
            metadata=expected,
            configuration={"hnsw": {"space": "cosine"}},
        )
    except UserError:
        raise
    except Exception as exc:
        raise UserError(
            f"cannot open collection {name!r} in the vector store ({exc.__class__.__name__}: "
            f"{exc}): move the store aside or pass another --data-dir"
        ) from None
    check_collection(name, collection.metadata or {}, expected)
    return collection


def check_collection(name: str, found: dict[str, Any], expected: dict[str, Any]) -> None:
    """One clear line when a collection was written by another format, embedding or program."""
    fmt = found.get("tradegraph_format")
    if fmt is None:
        raise UserError(
            f"collection {name!r} in the vector store was not written by this tradegraph (an "
            "older version or another program): move the store aside or pass another --data-dir"
        )
    if fmt != expected["tradegraph_format"]:
        newer = "a newer" if int(fmt) > STORE_FORMAT else "an older"
        raise UserError(
            f"collection {name!r} was written by {newer} tradegraph (store format {fmt}, this "
            f"one reads {STORE_FORMAT}): use that version, or pass another --data-dir"
        )
    if found.get("embedding") != expected["embedding"]:
        raise UserError(
            f"collection {name!r} is embedded with {found.get('embedding')!r}, the settings ask "
            f"for {expected['embedding']!r}: set memory.embedding to match, or pass another "
            "--data-dir"
        )


def existing_collection(client: ClientAPI, name: str, where: str) -> Collection:
    """A collection that must already exist (audit commands read; they never create)."""
    try:
        collection = client.get_collection(name, embedding_function=None)
    except Exception:
        raise UserError(
            f"no {name!r} in the vector store at {where}: run `tradegraph run` first, or pass "
            "the --data-dir (or TRADEGRAPH_CHROMA_URL) of the runs to audit"
        ) from None
    found = collection.metadata or {}
    check_collection(
        name,
        found,
        {"tradegraph_format": STORE_FORMAT, "embedding": found.get("embedding")},
    )
    return collection


def pages(
    collection: Collection,
    include: list[str],
    *,
    where: dict[str, Any] | None = None,
    size: int = 5_000,
) -> Iterator[GetResult]:
    """Every record of a collection (matching `where`), read a page at a time."""
    offset = 0
    while True:
        page = collection.get(
            where=where,
            include=include,  # type: ignore[arg-type]
            limit=size,
            offset=offset,
        )
        if not page["ids"]:
            return
        yield page
        offset += len(page["ids"])
