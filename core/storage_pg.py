"""The key/value state store on PostgreSQL: breaker latches, the high-water mark, LLM spend.

Each store of a data directory (`risk_state`, `llm_spend`) is one `name` in a shared `kv`
table, so one database holds them all. Keys list in code point order (COLLATE "C"), as SQLite
sorts them, so prefix scans behave the same on both backends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from core.database import connect, create_schema, mask_url, usable_server

if TYPE_CHECKING:
    import psycopg

_T = TypeVar("_T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    store TEXT NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (store, key)
)
"""


class PostgresStateStore:
    """String keys to string values under one store name; every put commits on its own.

    One connection, opened on first use and guarded by a lock so threads may share a store.
    """

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        """The store as a person can read it (password masked)."""
        return f"{self.name} in {mask_url(self.url)}"

    def exists(self) -> bool:
        """Whether this store has ever held a key (a fresh database holds no state yet)."""
        return self._guarded(
            lambda conn: (
                conn.execute("SELECT 1 FROM kv WHERE store = %s LIMIT 1", (self.name,)).fetchone()
                is not None
            )
        )

    def get(self, key: str) -> str | None:
        def read(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
            row = conn.execute(
                "SELECT value FROM kv WHERE store = %s AND key = %s", (self.name, key)
            ).fetchone()
            return None if row is None else str(row[0])

        return self._guarded(read)

    def put(self, key: str, value: str) -> None:
        self._guarded(
            lambda conn: conn.execute(
                "INSERT INTO kv (store, key, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                (self.name, key, value),
            )
        )

    def delete(self, key: str) -> None:
        self._guarded(
            lambda conn: conn.execute(
                "DELETE FROM kv WHERE store = %s AND key = %s", (self.name, key)
            )
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every key that starts with `prefix`, sorted by code point."""

        def listed(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
            found: list[str] = []
            rows = conn.execute(
                "SELECT key FROM kv WHERE store = %s AND key >= %s ORDER BY key",
                (self.name, prefix),
            )
            for (key,) in rows:
                if not str(key).startswith(prefix):
                    break
                found.append(str(key))
            return found

        return self._guarded(listed)

    def check(self) -> None:
        """Read every row of this store once: a server that cannot serve it is one error."""
        self._guarded(
            lambda conn: conn.execute(
                "SELECT count(*) FROM kv WHERE store = %s", (self.name,)
            ).fetchone()
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _guarded(self, action: Callable[[psycopg.Connection[tuple[object, ...]]], _T]) -> _T:
        with self._lock, usable_server(self.url):
            return action(self._connection())

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = connect(self.url)
        try:
            create_schema(conn, SCHEMA)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn
