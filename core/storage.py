"""A tiny durable key/value store, for state that must survive restarts.

It is what the risk package's LockStore protocol expects (structurally: core cannot import
risk), so circuit-breaker latches and the equity high-water mark live here in production: in a
SQLite file by default (`SqliteStateStore`), or on a PostgreSQL server
(`core.storage_pg.PostgresStateStore`). Both are `KeyValueStore`, written once against
`core.sql.Database`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from itertools import takewhile
from pathlib import Path
from typing import TypeVar

from core.sql import Database, SqliteDatabase, prepared
from core.sql import StateStoreError as StateStoreError
from core.sql import damaged_store as damaged_store
from core.sql import usable_database as usable_database

_T = TypeVar("_T")

_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class KeyValueStore(ABC):
    """String keys to string values in a `kv` table; every put commits on its own.

    One connection is kept open (the breakers read it every cycle; opening one per call cost
    more than the cycle itself), opened on first use and guarded by a lock, so threads may share
    a store. `scope` names the store where several share one table (PostgreSQL); a SQLite
    store is a file of its own and has none.
    """

    def __init__(self, scope: str | None = None) -> None:
        self._db: Database | None = None
        self._lock = threading.Lock()
        self._scope: tuple[str, ...] = () if scope is None else (scope,)
        self._in_scope = "" if scope is None else "store = ? AND "
        key = "key" if scope is None else "store, key"
        self._upsert = (
            f"INSERT INTO kv ({key}, value) VALUES ({'?, ' * len(self._scope)}?, ?) "
            f"ON CONFLICT ({key}) DO UPDATE SET value = excluded.value"
        )

    @property
    @abstractmethod
    def where(self) -> str:
        """The store as a person can read it."""

    @abstractmethod
    def _open(self) -> Database:
        """A connection with the `kv` table in place."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether the store is there at all (a deleted store is not an empty one)."""

    def get(self, key: str) -> str | None:
        row = self._guarded(
            lambda db: db.one(
                f"SELECT value FROM kv WHERE {self._in_scope}key = ?", (*self._scope, key)
            )
        )
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        self._guarded(lambda db: db.execute(self._upsert, (*self._scope, key, value)))

    def delete(self, key: str) -> None:
        self._guarded(
            lambda db: db.execute(
                f"DELETE FROM kv WHERE {self._in_scope}key = ?", (*self._scope, key)
            )
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every key that starts with `prefix`, sorted by code point (as SQLite sorts text;
        PostgreSQL's column is COLLATE "C" for the same order)."""
        rows = self._guarded(
            lambda db: db.all(
                f"SELECT key FROM kv WHERE {self._in_scope}key >= ? ORDER BY key",
                (*self._scope, prefix),
            )
        )
        # the keys with the prefix sort together, from the prefix on
        return list(takewhile(lambda key: key.startswith(prefix), (str(k) for (k,) in rows)))

    def check(self) -> None:
        """Read the store once: StateStoreError if it cannot serve this store's rows."""
        self._guarded(lambda db: db.check(("kv",)))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _guarded(self, action: Callable[[Database], _T]) -> _T:
        with self._lock:
            if self._db is None or self._db.closed:
                self._db = self._open()
            return action(self._db)


class SqliteStateStore(KeyValueStore):
    """String keys to string values in one SQLite file (WAL, durable commit per put).

    The file, its folder and the table are created on first use. Several processes can use
    one file: SQLite serialises writers, and a busy writer is waited for up to 5 s.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)

    @property
    def where(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        """Whether the file exists (a deleted store is a different thing from an empty one)."""
        return self.path.exists()

    def _open(self) -> Database:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateStoreError(f"{self.path} cannot be opened: {exc.strerror}") from None
        db = SqliteDatabase(self.path, synchronous="FULL")  # a latched halt survives power loss
        return prepared(db, lambda opened: opened.create_schema(_SCHEMA))
