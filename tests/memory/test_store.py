"""Opening the vector store: format and embedding checks, servers, broken folders: one line each."""

import socket

import pytest

from core.errors import UserError
from memory.store import STORE_FORMAT, open_chroma, vector_collection
from tests.cli import assert_one_line_error, tradegraph


def test_a_new_collection_records_the_format_and_embedding(tmp_path):
    collection = vector_collection(open_chroma(tmp_path), "traces", embedding="hashing-256")

    assert collection.metadata == {"tradegraph_format": STORE_FORMAT, "embedding": "hashing-256"}


@pytest.mark.parametrize(
    ("metadata", "fragment"),
    [
        (None, "not written by this tradegraph"),
        ({"tradegraph_format": 1, "embedding": "features-8"}, "an older tradegraph"),
        ({"tradegraph_format": STORE_FORMAT + 1, "embedding": "features-8"}, "a newer tradegraph"),
        ({"tradegraph_format": STORE_FORMAT, "embedding": "hashing-256"}, "set memory.embedding"),
    ],
)
def test_a_collection_written_otherwise_is_refused_in_one_line(tmp_path, metadata, fragment):
    client = open_chroma(tmp_path)
    client.create_collection("situations", embedding_function=None, metadata=metadata)

    with pytest.raises(UserError, match=fragment):
        vector_collection(client, "situations")


def test_an_unreachable_server_is_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there

    with pytest.raises(
        UserError, match=f"cannot reach the Chroma server at http://127.0.0.1:{port}"
    ):
        open_chroma(tmp_path, f"http://127.0.0.1:{port}")


def test_a_malformed_server_url_is_one_line(tmp_path):
    with pytest.raises(UserError, match="is not a server address"):
        open_chroma(tmp_path, "ftp://somewhere")


@pytest.mark.slow
def test_a_run_against_an_unreachable_server_stops_with_one_line(tmp_path):
    result = tradegraph(
        "run", "--bars", "50", "--data-dir", str(tmp_path),
        env={"TRADEGRAPH_CHROMA_URL": "http://127.0.0.1:9"},
    )  # fmt: skip

    assert_one_line_error(result, "cannot reach the Chroma server", "TRADEGRAPH_CHROMA_URL")


@pytest.mark.slow
def test_a_corrupted_store_stops_the_run_with_one_line(tmp_path):
    (tmp_path / "chroma").mkdir()
    (tmp_path / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)

    result = tradegraph("run", "--bars", "50", "--data-dir", str(tmp_path))

    assert_one_line_error(result, "vector store", "--data-dir")


@pytest.mark.slow
def test_a_store_written_by_an_older_version_stops_the_run_with_one_line(tmp_path):
    client = open_chroma(tmp_path)
    client.create_collection("traces", embedding_function=None)  # format 1 had no metadata
    del client

    result = tradegraph("run", "--bars", "50", "--data-dir", str(tmp_path))

    assert_one_line_error(result, "collection 'traces'", "not written by this tradegraph")
