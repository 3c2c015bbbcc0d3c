"""A tiny durable key/value store in SQLite, for state that must survive restarts.

It is what the risk package's LockStore protocol expects (structurally: core cannot import
risk), so circuit-breaker latches and the equity high-water mark live here in production.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from core.errors import UserError

_T = TypeVar("_T")

_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_UPSERT = (
    "INSERT INTO kv (key, value) VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
)


class StateStoreError(UserError):
    """The store's file cannot be read or written (not a database, damaged, unwritable)."""


@contextmanager
def usable_database(path: Path) -> Iterator[None]:
    """SQLite errors inside the block as one StateStoreError naming the file: a ledger that is
    not a database, is damaged or cannot be opened is one line, never a traceback."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StateStoreError(
                f"{path} is busy ({exc}): another process held it for over 5 s; try again"
            ) from None
        raise damaged_store(path, exc) from None
    except sqlite3.DatabaseError as exc:
        raise damaged_store(path, exc) from None


def damaged_store(path: Path, exc: Exception) -> StateStoreError:
    return StateStoreError(
        f"{path} cannot be used ({exc}): restore it from a backup, or move it "
        "aside to start this state afresh"
    )


class SqliteStateStore:
    """String keys to string values in one SQLite file (WAL, durable commit per put).

    The file, its folder and the table are created on first use. One connection is kept open
    (the breakers read it every cycle; opening one per call cost more than the cycle itself)
    and guarded by a lock, so threads may share a store. Several processes can use one file:
    SQLite serialises writers, and a busy writer is waited for up to 5 s.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        """The store as a person can read it."""
        return str(self.path)

    def exists(self) -> bool:
        """Whether the file exists (a deleted store is a different thing from an empty one)."""
        return self.path.exists()

    def get(self, key: str) -> str | None:
        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

        return self._guarded(read)

    def put(self, key: str, value: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            with conn:  # one transaction, committed (or rolled back) here
                conn.execute(_UPSERT, (key, value))

        self._guarded(write)

    def delete(self, key: str) -> None:
        def remove(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("DELETE FROM kv WHERE key = ?", (key,))

        self._guarded(remove)

    def keys(self, prefix: str = "") -> list[str]:
        """Every key that starts with `prefix`, sorted (by code point, as SQLite sorts text)."""

        def listed(conn: sqlite3.Connection) -> list[str]:
            found: list[str] = []
            rows = conn.execute("SELECT key FROM kv WHERE key >= ? ORDER BY key", (prefix,))
            for (key,) in rows:  # the keys with the prefix sort together, from the prefix on
                if not str(key).startswith(prefix):
                    break
                found.append(str(key))
            return found

        return self._guarded(listed)

    def check(self) -> None:
        """Read the whole file once: StateStoreError if any page of it is damaged."""

        def checked(conn: sqlite3.Connection) -> None:
            (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(str(verdict))

        self._guarded(checked)

    def _guarded(self, action: Callable[[sqlite3.Connection], _T]) -> _T:
        """`action` on the connection, a damaged or unwritable file as one StateStoreError."""
        with self._lock:
            try:
                return action(self._connection())
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise self._damaged(exc) from None
                raise StateStoreError(
                    f"{self.path} is busy ({exc}): another process held it for over 5 s; try again"
                ) from None
            except sqlite3.DatabaseError as exc:  # not a database, malformed
                raise self._damaged(exc) from None
            except OSError as exc:
                raise StateStoreError(f"{self.path} cannot be opened: {exc.strerror}") from None

    def _damaged(self, exc: Exception) -> StateStoreError:
        return damaged_store(self.path, exc)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False)
        try:
            conn.execute("PRAGMA synchronous=FULL")  # a latched halt must survive power loss
            conn.execute("PRAGMA journal_mode=WAL")
            with conn:
                conn.execute(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn
