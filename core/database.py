"""PostgreSQL connections for the ledger and the risk state (TRADEGRAPH_DATABASE_URL).

psycopg is imported only here and only when a URL is set, so SQLite users never load it. Every
error a user can fix (server down, wrong password, no such database) becomes one StateStoreError
line naming the server with the password masked: a URL carries a secret and must never be
printed whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from core.sql import POSTGRES, Cursor, Database, Params, StateStoreError

if TYPE_CHECKING:
    import psycopg

_DSN_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_SCHEMA_LOCK = 0x7472616465  # "trade": one advisory lock id for every schema change


def mask_url(url: str) -> str:
    """The URL with its password replaced by `***` (also in key=value connection strings)."""
    if "://" not in url:
        return _DSN_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = _DSN_PASSWORD.sub(r"\1***", parts.query.replace("&", " ")).replace(" ", "&")
    tail = (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")
    return f"{parts.scheme}://{netloc}{parts.path}{tail}"  # urlunsplit drops an empty host


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def scrub(text: str, url: str) -> str:
    """`text` (a driver's message) without the URL's password, on one line."""
    password = urlsplit(url).password if "://" in url else None
    cleaned = text.replace(password, "***") if password else text
    cleaned = _DSN_PASSWORD.sub(r"\1***", cleaned)
    return " ".join(cleaned.split())


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection to `url` (transactions are explicit), or one StateStoreError."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a declared dependency
        raise StateStoreError(
            "TRADEGRAPH_DATABASE_URL is set but psycopg is not installed: "
            "pip install 'psycopg[binary]'"
        ) from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        raise unreachable(url, exc) from None


def unreachable(url: str, exc: Exception) -> StateStoreError:
    detail = scrub(str(exc), url) or type(exc).__name__
    return StateStoreError(
        f"cannot use the database {mask_url(url)} ({detail[:300]}): check "
        "TRADEGRAPH_DATABASE_URL (host, port, user, password, database) and that the server runs"
    )


@contextmanager
def usable_server(url: str) -> Iterator[None]:
    """psycopg errors inside the block as one StateStoreError naming the server (masked)."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        raise unreachable(url, exc) from None


def create_schema(conn: psycopg.Connection[tuple[object, ...]], statements: str) -> None:
    """Run `statements` (CREATE ... IF NOT EXISTS) under an advisory lock: two processes
    creating the same table at once would otherwise collide in PostgreSQL's catalog."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        for statement in statements.split(";"):
            if statement.strip():
                conn.execute(statement.encode())


class PostgresDatabase(Database):
    """A connection to the server at `url`; rows keep their insertion order in a `seq` column
    (SQLite's rowid plays that part there)."""

    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = mask_url(url)
        self._conn = connect(url)

    def guarded(self) -> AbstractContextManager[None]:
        return usable_server(self.url)

    def _run(self, query: str, args: Params) -> Cursor:
        return self._conn.execute(self.dialect.sql(query).encode(), args)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.guarded(), self._conn.transaction():
            yield

    def create_schema(self, statements: str) -> None:
        with self.guarded():
            create_schema(self._conn, statements)

    def columns(self, table: str) -> set[str]:
        rows = self.all(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        return {str(name) for (name,) in rows}

    def add_column(self, table: str, column: str, definition: str) -> None:
        """Under the schema lock, so two processes upgrading at once do not collide."""
        self.create_schema(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {definition}")

    def check(self, tables: Sequence[str]) -> None:
        for table in tables:
            self.one(f"SELECT count(*) FROM {table}")

    @property
    def closed(self) -> bool:
        return bool(self._conn.closed)

    def close(self) -> None:
        self._conn.close()
