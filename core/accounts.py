"""Accounts and the runs that trade them, in the data directory's ledger file.

An account (its ledger, positions, resting stops and breaker state) outlives a run: a later run
with the same `--account` carries on with it. Each run leaves a record here: what it was asked
to do (so `--resume` can rebuild it), the account's breaker records when it started (so a
killed paper replay can be rolled back and replayed exactly), and how many cycles it ran. The
cycle count is written every cycle, apart from the traces, so `audit verify` can tell a chain
whose tail was lost (a killed process) from one that is complete.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from core.errors import UserError
from core.storage import usable_database

RunStatus = Literal["running", "finished", "interrupted"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    initial_cash REAL NOT NULL,
    quote TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    status TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    cycles INTEGER NOT NULL DEFAULT 0,
    request TEXT NOT NULL,
    breaker_state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_account ON runs(account, status);
"""

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
    """The accounts and runs of one data directory (one SQLite file, shared with the ledger)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with usable_database(self.path):
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=5.0
            )
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
            except BaseException:
                self._db.close()
                raise
        self._lock = threading.Lock()

    def open_account(
        self, name: str, initial_cash: float, quote: str, now_ms: int
    ) -> AccountRecord:
        """The account `name`, created with `initial_cash` if it is new (an existing account
        keeps the cash it was created with: its ledger continues)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO accounts VALUES (?, ?, ?, ?)",
                (name, initial_cash, quote, now_ms),
            )
            row = self._db.execute(
                "SELECT name, initial_cash, quote, created_ms FROM accounts WHERE name = ?",
                (name,),
            ).fetchone()
        return AccountRecord(name=row[0], initial_cash=row[1], quote=row[2], created_ms=row[3])

    def accounts(self) -> list[AccountRecord]:
        rows = self._db.execute(
            "SELECT name, initial_cash, quote, created_ms FROM accounts ORDER BY name"
        ).fetchall()
        return [
            AccountRecord(name=r[0], initial_cash=r[1], quote=r[2], created_ms=r[3]) for r in rows
        ]

    def start_run(self, record: RunRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        with usable_database(self.path):
            row = self._db.execute(
                "SELECT run_id, account, status, started_ms, cycles, request, breaker_state "
                "FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
        return None if row is None else record_from_row(row)

    def cycles_by_run(self) -> dict[str, int]:
        """Every run's own count of the cycles it ran."""
        with usable_database(self.path):
            rows = self._db.execute("SELECT run_id, cycles FROM runs").fetchall()
        return {str(run_id): int(cycles) for run_id, cycles in rows}

    def unfinished(self, account: str) -> list[RunRecord]:
        """Runs of `account` that did not end by themselves (killed, or still running)."""
        rows = self._db.execute(
            "SELECT run_id, account, status, started_ms, cycles, request, breaker_state "
            "FROM runs WHERE account = ? AND status = 'running' ORDER BY started_ms",
            (account,),
        ).fetchall()
        return [record_from_row(row) for row in rows]

    def check(self) -> None:
        """Read the whole file once: StateStoreError if any page of it is damaged."""
        with usable_database(self.path):
            (verdict,) = self._db.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(str(verdict))

    def close(self) -> None:
        self._db.close()


def record_from_row(row: tuple[Any, ...]) -> RunRecord:
    """A run record from its table row (the PostgreSQL book shares it)."""
    return RunRecord(
        run_id=row[0],
        account=row[1],
        status=row[2],
        started_ms=row[3],
        cycles=row[4],
        request=json.loads(row[5]),
        breaker_state=json.loads(row[6]),
    )
