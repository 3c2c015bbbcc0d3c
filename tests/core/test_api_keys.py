"""API keys: stored hashed, shown once, looked up by token, revoked at once; on SQLite and on
PostgreSQL (the `storage` fixture runs each test on both)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from core.api_keys import KEYS_FILE, open_api_keys, token_hash
from core.backends import Storage
from core.errors import UserError


def test_a_created_key_is_found_by_its_token_with_its_name_and_role(storage: Storage) -> None:
    keys = open_api_keys(storage)
    issued = keys.create("alice", "trader")

    found = keys.lookup(issued.token)

    assert found is not None
    assert (found.name, found.role, found.revoked) == ("alice", "trader", False)


def test_tokens_are_long_random_and_distinct(storage: Storage) -> None:
    keys = open_api_keys(storage)

    tokens = [keys.create(f"k{i}", "viewer").token for i in range(5)]

    assert len(set(tokens)) == 5
    assert all(token.startswith("tg_") and len(token) >= 40 for token in tokens)


def test_an_unknown_or_altered_token_finds_nothing(storage: Storage) -> None:
    keys = open_api_keys(storage)
    token = keys.create("alice", "trader").token

    assert keys.lookup("tg_" + "x" * 43) is None
    assert keys.lookup(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert keys.lookup("") is None


def test_a_revoked_key_is_refused_and_stays_listed(storage: Storage) -> None:
    keys = open_api_keys(storage)
    token = keys.create("alice", "trader").token

    revoked = keys.revoke("alice")

    assert revoked.revoked and keys.lookup(token) is None
    assert [(k.name, k.revoked) for k in keys.listed()] == [("alice", True)]


def test_keys_survive_a_new_store_and_a_revocation_reaches_an_open_one(
    storage: Storage,
) -> None:
    serving = open_api_keys(storage)
    token = open_api_keys(storage).create("alice", "viewer").token
    assert serving.lookup(token) is not None

    open_api_keys(storage).revoke("alice")

    assert serving.lookup(token) is None


def test_a_name_is_used_once_even_after_revocation(storage: Storage) -> None:
    keys = open_api_keys(storage)
    keys.create("alice", "trader")
    keys.revoke("alice")

    with pytest.raises(UserError, match="exists already"):
        keys.create("alice", "viewer")


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [
        ("alice", "root", "unknown role 'root': use viewer, trader or admin"),
        ("has space", "viewer", "is not usable"),
        ("", "viewer", "is not usable"),
    ],
)
def test_a_bad_name_or_role_is_one_line(tmp_path: Path, name: str, role: str, message: str) -> None:
    keys = open_api_keys(Storage(tmp_path))

    with pytest.raises(UserError, match=message):
        keys.create(name, role)
    assert keys.listed() == []


def test_revoking_an_unknown_key_says_how_to_list_them(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"no key named .bob.: .tradegraph keys list"):
        open_api_keys(Storage(tmp_path)).revoke("bob")


def test_the_file_holds_the_tokens_hash_and_never_the_token(tmp_path: Path) -> None:
    token = open_api_keys(Storage(tmp_path)).create("alice", "admin").token

    raw = (tmp_path / KEYS_FILE).read_bytes()
    with closing(sqlite3.connect(tmp_path / KEYS_FILE)) as conn:
        stored = [row[0] for row in conn.execute("SELECT key_hash FROM api_keys")]

    assert stored == [token_hash(token)]
    assert token.encode() not in raw
