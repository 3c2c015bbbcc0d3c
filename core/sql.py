"""One SQL layer under the ledger, the account book and the key/value stores.

Each of those is written once against `Database`; a SQLite file (`SqliteDatabase`, here) and a
PostgreSQL server (`core.database.PostgresDatabase`, which alone loads psycopg) differ only in
what `Dialect` and the two subclasses say: the placeholder, the column that keeps rows in
insertion order, how a transaction takes its lock, how a schema is created and checked, and
which driver errors mean "this store cannot be used". Queries are written with `?` and
`ON CONFLICT ... DO NOTHING`, which SQLite (3.24 and later) and PostgreSQL both accept.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from core.errors import UserError

Row = tuple[Any, ...]
Params = Sequence[Any]
_D = TypeVar("_D", bound="Database")


class StateStoreError(UserError):
    """The store's file cannot be read or written (not a database, damaged, unwritable)."""


def usable_database(path: Path) -> AbstractContextManager[None]:
    """SQLite errors inside the block as one StateStoreError naming the file: a ledger that is
    not a database, is damaged or cannot be opened is one line, never a traceback."""
    return _SqliteErrors(path)


class _SqliteErrors:
    """`usable_database`'s block; a class, not a generator: it wraps every statement, and a
    generator's setup cost is a measurable share of a SQLite commit."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, sqlite3.OperationalError) and (
            "locked" in str(exc) or "busy" in str(exc)
        ):
            raise StateStoreError(
                f"{self.path} is busy ({exc}): another process held it for over 5 s; try again"
            ) from None
        if isinstance(exc, sqlite3.DatabaseError):
            raise damaged_store(self.path, exc) from None


def damaged_store(path: Path, exc: Exception) -> StateStoreError:
    return StateStoreError(
        f"{path} cannot be used ({exc}): restore it from a backup, or move it "
        "aside to start this state afresh"
    )


@dataclass(frozen=True)
class Dialect:
    """What the SQL text of the two backends differs in."""

    placeholder: str
    row_order: str
    """The column that orders a table's rows as they were inserted."""
    row_order_column: str
    """Its definition in CREATE TABLE (empty where the database keeps it by itself)."""

    def sql(self, query: str) -> str:
        """`query`, written with `?` placeholders, in this dialect."""
        return query if self.placeholder == "?" else query.replace("?", self.placeholder)

    def schema(self, template: str) -> str:
        """CREATE statements whose `{row_order}` slot starts each ordered table."""
        return template.format(row_order=self.row_order_column)


SQLITE = Dialect(placeholder="?", row_order="rowid", row_order_column="")
POSTGRES = Dialect(placeholder="%s", row_order="seq", row_order_column="seq BIGSERIAL UNIQUE,")


class Cursor(Protocol):
    """What both drivers' cursors offer."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Database(ABC):
    """One connection in autocommit mode: every statement commits on its own unless it runs
    inside `transaction()`. A driver error surfaces as one StateStoreError naming the store."""

    dialect: Dialect
    where: str
    """The store as a person can read it (a URL's password masked)."""

    @abstractmethod
    def guarded(self) -> AbstractContextManager[None]:
        """Driver errors inside the block as one StateStoreError."""

    @abstractmethod
    def _run(self, query: str, args: Params) -> Cursor: ...

    def execute(self, query: str, args: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        with self.guarded():
            return int(self._run(query, args).rowcount)

    def one(self, query: str, args: Params = ()) -> Row | None:
        with self.guarded():
            row = self._run(query, args).fetchone()
        return None if row is None else tuple(row)

    def all(self, query: str, args: Params = ()) -> list[Row]:
        with self.guarded():
            return [tuple(row) for row in self._run(query, args).fetchall()]

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """One transaction, committed when the block ends and rolled back when it raises, so
        a crash or a second process never sees half of it. SQLite takes its write lock at the
        start; PostgreSQL locks the rows a statement changes until the end."""

    @abstractmethod
    def create_schema(self, statements: str) -> None:
        """Run CREATE ... IF NOT EXISTS statements (separated by `;`)."""

    @abstractmethod
    def columns(self, table: str) -> set[str]:
        """The names of `table`'s columns; empty when there is no such table."""

    def add_column(self, table: str, column: str, definition: str) -> None:
        """Add `column` (its full `definition`) to `table` when an older layout lacks it."""
        if column not in self.columns(table):
            self.execute(f"ALTER TABLE {table} ADD COLUMN {definition}")

    @abstractmethod
    def check(self, tables: Sequence[str]) -> None:
        """Read the tables once: StateStoreError if the store cannot serve them."""

    @property
    @abstractmethod
    def closed(self) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...


class SqliteDatabase(Database):
    """A SQLite file in WAL mode; a busy writer is waited for up to 5 s."""

    dialect = SQLITE

    def __init__(self, path: Path, *, synchronous: str = "NORMAL", read_only: bool = False) -> None:
        """`synchronous` FULL where a commit must survive power loss (a latched halt);
        `read_only` opens without writing, not even the journal mode."""
        self.path = Path(path)
        self.where = str(self.path)
        self._closed = False
        self._errors = usable_database(self.path)  # holds no state: one serves every call
        with self._errors:
            target = f"file:{self.path}?mode=ro" if read_only else str(self.path)
            self._conn = sqlite3.connect(
                target,
                uri=read_only,
                isolation_level=None,
                check_same_thread=False,
                timeout=5.0,
            )
            try:
                if not read_only:
                    self._conn.execute("PRAGMA journal_mode=WAL")
                    self._conn.execute(f"PRAGMA synchronous={synchronous}")
            except BaseException:
                self._conn.close()
                raise

    def guarded(self) -> AbstractContextManager[None]:
        return self._errors

    def _run(self, query: str, args: Params) -> Cursor:
        return self._conn.execute(query, args)

    def transaction(self) -> AbstractContextManager[None]:
        return _SqliteTransaction(self._conn, self.path)

    def create_schema(self, statements: str) -> None:
        with self.guarded():
            self._conn.executescript(statements)

    def columns(self, table: str) -> set[str]:
        return {str(row[1]) for row in self.all(f"PRAGMA table_info({table})")}

    def check(self, tables: Sequence[str]) -> None:
        """Read the whole file once (every table's pages)."""
        with self.guarded():
            (verdict,) = self._conn.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(str(verdict))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._conn.close()


def prepared(db: _D, prepare: Callable[[_D], object]) -> _D:
    """`db` once `prepare` (schema creation, upgrades) has run on it; closed when that fails,
    so a store that cannot be used leaves no connection behind."""
    try:
        prepare(db)
    except BaseException:
        db.close()
        raise
    return db


class _SqliteTransaction:
    """BEGIN IMMEDIATE (the write lock at once, waited for up to 5 s), then COMMIT, or ROLLBACK
    when the block raises."""

    __slots__ = ("_conn", "_path")

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path

    def __enter__(self) -> None:
        with usable_database(self._path):
            self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with usable_database(self._path):
            if kind is None:
                self._conn.execute("COMMIT")
            elif self._conn.in_transaction:  # some errors end the transaction themselves
                self._conn.execute("ROLLBACK")
