"""Accounts and run records on PostgreSQL: `core.accounts.AccountBook` for a database URL."""

from __future__ import annotations

import json
import threading

from core.accounts import AccountRecord, RunRecord, RunStatus, record_from_row
from core.database import connect, create_schema, usable_server

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    initial_cash DOUBLE PRECISION NOT NULL,
    quote TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    status TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    cycles INTEGER NOT NULL DEFAULT 0,
    request TEXT NOT NULL,
    breaker_state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_account ON runs(account, status)
"""

_RUN_COLUMNS = "run_id, account, status, started_ms, cycles, request, breaker_state"


class PostgresAccountBook:
    """The accounts and runs of one database (shared by every data directory pointed at it)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = connect(url)
        try:
            with usable_server(url):
                create_schema(self._db, SCHEMA)
        except BaseException:
            self._db.close()
            raise
        self._lock = threading.Lock()

    def open_account(
        self, name: str, initial_cash: float, quote: str, now_ms: int
    ) -> AccountRecord:
        """The account `name`, created with `initial_cash` if it is new."""
        with self._lock, usable_server(self.url):
            self._db.execute(
                "INSERT INTO accounts VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
                (name, initial_cash, quote, now_ms),
            )
            row = self._db.execute(
                "SELECT name, initial_cash, quote, created_ms FROM accounts WHERE name = %s",
                (name,),
            ).fetchone()
        assert row is not None  # inserted or already there, in this very block
        return AccountRecord(
            name=str(row[0]),
            initial_cash=float(str(row[1])),
            quote=str(row[2]),
            created_ms=int(str(row[3])),
        )

    def accounts(self) -> list[AccountRecord]:
        with self._lock, usable_server(self.url):
            rows = self._db.execute(
                "SELECT name, initial_cash, quote, created_ms FROM accounts ORDER BY name"
            ).fetchall()
        return [
            AccountRecord(
                name=str(r[0]),
                initial_cash=float(str(r[1])),
                quote=str(r[2]),
                created_ms=int(str(r[3])),
            )
            for r in rows
        ]

    def start_run(self, record: RunRecord) -> None:
        with self._lock, usable_server(self.url):
            self._db.execute(
                "INSERT INTO runs VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    record.run_id,
                    record.account,
                    record.status,
                    record.started_ms,
                    record.cycles,
                    json.dumps(record.request, sort_keys=True),
                    json.dumps(record.breaker_state, sort_keys=True),
                ),
            )

    def count_cycles(self, run_id: str, cycles: int) -> None:
        with self._lock, usable_server(self.url):
            self._db.execute("UPDATE runs SET cycles = %s WHERE run_id = %s", (cycles, run_id))

    def set_status(self, run_id: str, status: RunStatus) -> None:
        with self._lock, usable_server(self.url):
            self._db.execute("UPDATE runs SET status = %s WHERE run_id = %s", (status, run_id))

    def run(self, run_id: str) -> RunRecord | None:
        with self._lock, usable_server(self.url):
            row = self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = %s".encode(), (run_id,)
            ).fetchone()
        return None if row is None else record_from_row(row)

    def cycles_by_run(self) -> dict[str, int]:
        with self._lock, usable_server(self.url):
            rows = self._db.execute("SELECT run_id, cycles FROM runs").fetchall()
        return {str(run_id): int(str(cycles)) for run_id, cycles in rows}

    def unfinished(self, account: str) -> list[RunRecord]:
        with self._lock, usable_server(self.url):
            rows = self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE account = %s AND status = 'running' "
                "ORDER BY started_ms".encode(),
                (account,),
            ).fetchall()
        return [record_from_row(row) for row in rows]

    def check(self) -> None:
        """Read both tables once: a server that cannot serve them is one StateStoreError."""
        with self._lock, usable_server(self.url):
            self._db.execute("SELECT count(*) FROM accounts").fetchone()
            self._db.execute("SELECT count(*) FROM runs").fetchone()

    def close(self) -> None:
        self._db.close()
