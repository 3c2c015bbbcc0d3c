"""The durable key/value store risk's LockStore sits on, on SQLite and on PostgreSQL (the
`storage` fixture runs the shared tests on both)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from core.backends import Storage
from core.storage import SqliteStateStore
from risk.store import LockStore, MemoryLockStore


def test_missing_key_reads_as_none(storage: Storage) -> None:
    assert storage.state_store("state").get("absent") is None


def test_put_then_get_round_trips(storage: Storage) -> None:
    store = storage.state_store("state")

    store.put("risk/a/kill_switch", '{"engaged": true, "reason": "Überprüfung"}')

    assert store.get("risk/a/kill_switch") == '{"engaged": true, "reason": "Überprüfung"}'


def test_put_overwrites(storage: Storage) -> None:
    store = storage.state_store("state")
    store.put("k", "old")

    store.put("k", "new")

    assert store.get("k") == "new"


def test_values_survive_a_new_store_on_the_same_file(storage: Storage) -> None:
    storage.state_store("state").put("k", "v")

    assert storage.state_store("state").get("k") == "v"


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


def test_it_is_a_lock_store(storage: Storage) -> None:
    store: LockStore = storage.state_store("state")  # checked by mypy

    store.put("k", "v")

    assert store.get("k") == "v"


def test_keys_lists_the_keys_with_a_prefix_sorted(storage: Storage) -> None:
    store = storage.state_store("state")
    for key in ("risk/b/drawdown", "risk/a/kill_switch", "riskier/x", "other", "risk/a/drawdown"):
        store.put(key, "v")

    assert store.keys("risk/") == ["risk/a/drawdown", "risk/a/kill_switch", "risk/b/drawdown"]
    assert store.keys("risk/a/") == ["risk/a/drawdown", "risk/a/kill_switch"]
    assert store.keys("nothing/") == []
    assert len(store.keys()) == 5


def test_keys_handles_prefixes_with_like_wildcards_and_non_ascii(storage: Storage) -> None:
    store = storage.state_store("state")
    for key in ("risk/100%_ü/k", "risk/100%_ü/\U0010ffffz", "risk/100x/k", "risk/100%_ü"):
        store.put(key, "v")

    assert store.keys("risk/100%_ü/") == ["risk/100%_ü/k", "risk/100%_ü/\U0010ffffz"]


def test_keys_sees_writes_from_another_store_on_the_same_file(storage: Storage) -> None:
    reader = storage.state_store("state")
    assert reader.keys("risk/") == []

    storage.state_store("state").put("risk/a/kill_switch", "{}")

    assert reader.keys("risk/") == ["risk/a/kill_switch"]


def test_memory_store_keys_match_the_durable_store(storage: Storage) -> None:
    stores: list[LockStore] = [MemoryLockStore(), storage.state_store("state")]
    for store in stores:
        for key in ("risk/b/x", "risk/a/y", "other"):
            store.put(key, "v")

    listed = [store.keys("risk/") for store in stores]

    assert listed[0] == listed[1] == ["risk/a/y", "risk/b/x"]


def test_a_long_lived_store_sees_a_put_from_another_process_at_its_next_read(
    storage: Storage,
) -> None:
    running = storage.state_store("state")
    running.put("risk/a/kill_switch", "engaged")

    storage.state_store("state").put("risk/a/kill_switch", "released")

    assert running.get("risk/a/kill_switch") == "released"
