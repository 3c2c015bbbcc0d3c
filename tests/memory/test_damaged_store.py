"""A vector store that chromadb cannot read any more is one line saying what to do."""

import chromadb.errors
import pytest

from core.types import MarketInfo
from memory import session_stores
from memory.session_stores import MemoryStoreDamagedError, open_memory

HNSW = "Error executing plan: Error sending backfill request to compactor: Failed to apply logs"


def test_an_unreadable_vector_index_is_one_line_naming_the_folder(tmp_path, monkeypatch):
    def damaged(*args, **kwargs):
        raise chromadb.errors.InternalError(HNSW + "\nto the hnsw segment writer")

    monkeypatch.setattr(session_stores, "open_chroma", damaged)
    info = MarketInfo(source="synthetic:5", symbol="SYN/USDT", timeframe="1h", synthetic=True)

    with pytest.raises(MemoryStoreDamagedError) as caught:
        open_memory(tmp_path, "run", info, url=None, embedding="hashing", enabled=True,
                    batch_size=8)  # fmt: skip

    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / "chroma") in message and "cannot be read" in message
    assert "move that folder aside" in message
