"""Accounts and the runs that trade them, in the data directory's ledger file (or PostgreSQL).

An account (its ledger, positions, resting stops and breaker state) outlives a run: a later run
with the same `--account` carries on with it. Each run leaves a record here: what it was asked
to do (so `--resume` can rebuild it), the account's breaker records when it started (so a
killed paper replay can be rolled back and replayed exactly), and how many cycles it ran. The
cycle count is written every cycle, apart from the traces, so `audit verify` can tell a chain
whose tail was lost (a killed process) from one that is complete.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from core.errors import UserError
from core.sql import Database, SqliteDatabase, prepared

RunStatus = Literal["running", "finished", "interrupted"]

_SCHEMA = """
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
CREATE INDEX IF NOT EXISTS runs_account ON runs(account, status);
"""
"""The same on both backends: SQLite reads DOUBLE PRECISION as REAL and BIGINT as INTEGER."""
_ACCOUNT_COLUMNS = "name, initial_cash, quote, created_ms"
_RUN_COLUMNS = "run_id, account, status, started_ms, cycles, request, breaker_state"

REPLAY_PREFIX = "replay:"
"""Accounts named after one replay (no --account given): they end with their run."""


class AccountRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    initial_cash: float
    quote: str
    created_ms: int


class RunRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    account: str
    status: RunStatus
    started_ms: int
    cycles: int = 0
    request: dict[str, Any]
    """What the run was asked to do, as the driver that started it wrote it."""
    breaker_state: dict[str, str]
    """The account's breaker records (store key to value) when the run started."""


def replay_account(run_id: str) -> str:
    return f"{REPLAY_PREFIX}{run_id}"


def check_account_name(name: str) -> str:
    """A user-chosen account name: short, no '/', not the reserved names."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or "/" in cleaned or cleaned == "global":
        raise UserError(
            f"--account {name!r} is not a usable name: use letters, digits, '-', '_' or '.' "
            "(at most 64 characters; 'global' is reserved)"
        )
    if cleaned.startswith(REPLAY_PREFIX) or any(c.isspace() for c in cleaned):
        raise UserError(f"--account {name!r}: no spaces, and 'replay:' names are the tool's own")
    return cleaned


class AccountBook:
    """The accounts and runs of one data directory: its SQLite file (shared with the ledger),
    or a database already opened (`PostgresAccountBook` opens a server's, which every data
    directory pointed at it shares)."""

    def __init__(self, path: Path | Database) -> None:
        db = path if isinstance(path, Database) else SqliteDatabase(Path(path))
        self._db = prepared(db, lambda opened: opened.create_schema(_SCHEMA))
        self.where = db.where
        self._lock = threading.Lock()

    def open_account(
        self, name: str, initial_cash: float, quote: str, now_ms: int
    ) -> AccountRecord:
        """The account `name`, created with `initial_cash` if it is new (an existing account
        keeps the cash it was created with: its ledger continues)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO accounts (name, initial_cash, quote, created_ms) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (name, initial_cash, quote, now_ms),
            )
            row = self._db.one(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE name = ?", (name,))
        assert row is not None  # inserted or already there, in this very block
        return account_from_row(row)

    def accounts(self) -> list[AccountRecord]:
        with self._lock:
            rows = self._db.all(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY name")
        return [account_from_row(row) for row in rows]

    def start_run(self, record: RunRecord) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        """Record that the run has run `cycles` cycles (called after every cycle)."""
        with self._lock:
            self._db.execute("UPDATE runs SET cycles = ? WHERE run_id = ?", (cycles, run_id))

    def set_status(self, run_id: str, status: RunStatus) -> None:
        with self._lock:
            self._db.execute("UPDATE runs SET status = ? WHERE run_id = ?", (status, run_id))

    def run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._db.one(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        return None if row is None else record_from_row(row)

    def cycles_by_run(self) -> dict[str, int]:
        """Every run's own count of the cycles it ran."""
        with self._lock:
            rows = self._db.all("SELECT run_id, cycles FROM runs")
        return {str(run_id): int(cycles) for run_id, cycles in rows}

    def unfinished(self, account: str) -> list[RunRecord]:
        """Runs of `account` that did not end by themselves (killed, or still running)."""
        with self._lock:
            rows = self._db.all(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE account = ? AND status = 'running' "
                "ORDER BY started_ms",
                (account,),
            )
        return [record_from_row(row) for row in rows]

    def check(self) -> None:
        """Read the store once (a SQLite file's every page): StateStoreError if it cannot
        serve the accounts and runs."""
        with self._lock:
            self._db.check(("accounts", "runs"))

    def close(self) -> None:
        self._db.close()


def account_from_row(row: tuple[Any, ...]) -> AccountRecord:
    return AccountRecord(
        name=str(row[0]), initial_cash=float(row[1]), quote=str(row[2]), created_ms=int(row[3])
    )


def record_from_row(row: tuple[Any, ...]) -> RunRecord:
    """A run record from its table row."""
    return RunRecord(
        run_id=row[0],
        account=row[1],
        status=row[2],
        started_ms=row[3],
        cycles=row[4],
        request=json.loads(row[5]),
        breaker_state=json.loads(row[6]),
    )
