"""Opening the chromadb store: embedded PersistentClient in the data directory by default.

Embeddings are always supplied by the project (feature vectors), so no collection ever needs
chroma's default embedding model, which would download weights at first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UserError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection


def open_chroma(data_dir: Path) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings

    path = data_dir / "chroma"
    try:
        return chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False)
        )
    except Exception as exc:
        raise UserError(
            f"cannot open the vector store at {path} ({exc.__class__.__name__}: {exc}): "
            "move it aside or pass another --data-dir"
        ) from None


def vector_collection(client: ClientAPI, name: str) -> Collection:
    """A cosine-space collection that only accepts embeddings we compute ourselves."""
    return client.get_or_create_collection(
        name,
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
    )
