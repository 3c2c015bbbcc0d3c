"""SqliteStateStore: a durable key/value table that risk's LockStore can sit on."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from core.storage import SqliteStateStore
from risk.store import LockStore


def test_missing_key_reads_as_none(tmp_path: Path) -> None:
    assert SqliteStateStore(tmp_path / "state.db").get("absent") is None


def test_put_then_get_round_trips(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")

    store.put("risk/a/kill_switch", '{"engaged": true, "reason": "Überprüfung"}')

    assert store.get("risk/a/kill_switch") == '{"engaged": true, "reason": "Überprüfung"}'


def test_put_overwrites(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    store.put("k", "old")

    store.put("k", "new")

    assert store.get("k") == "new"


def test_values_survive_a_new_store_on_the_same_file(tmp_path: Path) -> None:
    SqliteStateStore(tmp_path / "state.db").put("k", "v")

    assert SqliteStateStore(tmp_path / "state.db").get("k") == "v"


def test_file_and_folder_are_created_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "state.db"
    store = SqliteStateStore(path)
    assert not path.exists()

    store.get("anything")

    assert path.exists()


def test_database_uses_write_ahead_logging(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStateStore(path).put("k", "v")

    with closing(sqlite3.connect(path)) as conn:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()

    assert mode == "wal"


def test_put_is_committed_for_other_connections(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStateStore(path).put("k", "v")

    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT key, value FROM kv").fetchall()

    assert rows == [("k", "v")]


def test_it_is_a_lock_store(tmp_path: Path) -> None:
    store: LockStore = SqliteStateStore(tmp_path / "state.db")  # checked by mypy

    store.put("k", "v")

    assert store.get("k") == "v"
