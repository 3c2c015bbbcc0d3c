"""Opening the audit trail the runs left behind, for reading: `tradegraph audit` and the chat.

Readers never create a store: a data directory that holds none is a mistake, said in one
line. A reader in a long-lived process (the chat's server) opens the store for each read and
lets go after (`reading_store`), because an embedded chromadb system does not see what other
processes wrote after it started.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UserError
from memory.embeddings import TextEmbedder, text_embedder
from memory.store import existing_collection, open_chroma, release_chroma
from memory.traces import COLLECTION, RUNS_COLLECTION

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

TRACE_REF = re.compile(r"^(?P<run>.+):(?P<seq>[0-9]{1,12})$")


@dataclass(frozen=True)
class AuditStore:
    client: ClientAPI
    traces: Collection
    runs: Collection
    where: str
    """The chroma folder, or the server's URL."""


def open_audit_store(root: Path, chroma_url: str | None) -> AuditStore:
    """The traces and head records in `root`'s store (or the server's); a UserError saying
    what to do when there are none."""
    where = chroma_url or str(root / "chroma")
    if not chroma_url and not (root / "chroma").is_dir():
        raise UserError(
            f"no trace store in {root}: run `tradegraph run` first, or pass the --data-dir "
            "of the runs to audit"
        )
    client = open_chroma(root, chroma_url)
    traces = existing_collection(client, COLLECTION, where)
    runs = existing_collection(client, RUNS_COLLECTION, where)
    return AuditStore(client, traces, runs, where)


@contextmanager
def reading_store(root: Path, chroma_url: str | None) -> Iterator[AuditStore]:
    """`open_audit_store`, released when done so the next read sees the folder afresh."""
    store = open_audit_store(root, chroma_url)
    try:
        yield store
    finally:
        if not chroma_url:
            release_chroma(store.client)


def parse_trace_ref(ref: str) -> tuple[str, int]:
    """`RUN_ID:SEQ` as `audit search` prints it, or a UserError saying how to write it."""
    found = TRACE_REF.match(ref)
    if found is None:
        raise UserError(f"{ref!r} is not a trace id: use RUN_ID:SEQ as `audit search` prints it")
    return found["run"], int(found["seq"])


def search_embedder(traces: Collection, embedding: str) -> TextEmbedder:
    """The settings' text embedder, which must be the one the traces were embedded with."""
    kind = (traces.metadata or {}).get("embedding", "")
    embedder = text_embedder(embedding)
    if kind != f"{embedder.name}-{embedder.dim}":
        raise UserError(
            f"these traces are embedded with {kind!r} but memory.embedding is "
            f"{embedding!r}: set it to match to search them"
        )
    return embedder
