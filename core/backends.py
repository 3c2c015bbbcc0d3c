"""Where an account's ledger, run records and risk state live: SQLite files or PostgreSQL.

`storage_for(settings, root)` is the one place that looks at TRADEGRAPH_DATABASE_URL; callers
get `LedgerStore`, `AccountStore` and `StateStore` objects and never learn which backend they
use. Without a URL everything stays in SQLite files in the data directory, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.accounts import AccountRecord, RunRecord, RunStatus
from core.database import mask_url
from core.settings import Settings
from core.types import Fill, Order, Portfolio

LEDGER_FILE = "ledger.sqlite"


class LedgerStore(Protocol):
    """Orders, fills and exchange trades of one account, with the portfolio they imply
    (`core.ledger.Ledger`, on either backend)."""

    account: str
    run_id: str

    @property
    def portfolio(self) -> Portfolio: ...
    def record_order(self, order: Order) -> bool: ...
    def pending_orders(self) -> list[Order]: ...
    def record_fill(self, fill: Fill, stop_loss: float | None = None) -> bool: ...
    def cancel(self, client_order_id: str) -> None: ...
    def record_trade(
        self, trade_id: str, fill: Fill, stop_loss: float | None = None, *, done: bool = False
    ) -> bool: ...
    def trade_ids(self, client_order_id: str) -> set[str]: ...
    def mark_filled(self, client_order_id: str) -> None: ...
    def reject(self, client_order_id: str, reason: str) -> None: ...
    def note(self, client_order_id: str, reason: str) -> None: ...
    def status(self, client_order_id: str) -> tuple[str, str] | None: ...
    def fills(self, run_id: str | None = None) -> list[Fill]: ...
    def orders(self, run_id: str | None = None) -> list[tuple[Order, str]]: ...
    def discard_run(self, run_id: str) -> int: ...
    def close(self) -> None: ...


class AccountStore(Protocol):
    """Accounts and run records (`core.accounts.AccountBook`)."""

    def open_account(
        self, name: str, initial_cash: float, quote: str, now_ms: int
    ) -> AccountRecord: ...
    def accounts(self) -> list[AccountRecord]: ...
    def start_run(self, record: RunRecord) -> None: ...
    def count_cycles(self, run_id: str, cycles: int) -> None: ...
    def set_status(self, run_id: str, status: RunStatus) -> None: ...
    def run(self, run_id: str) -> RunRecord | None: ...
    def cycles_by_run(self) -> dict[str, int]: ...
    def unfinished(self, account: str) -> list[RunRecord]: ...
    def check(self) -> None: ...
    def close(self) -> None: ...


class StateStore(Protocol):
    """A durable key/value store (what risk's LockStore expects, plus upkeep)."""

    @property
    def where(self) -> str: ...
    def exists(self) -> bool: ...
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> list[str]: ...
    def check(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Storage:
    """The stores of one data directory: its SQLite files, or the database at `url`."""

    root: Path
    url: str | None = None

    @property
    def where(self) -> str:
        """The ledger's location as a person can read it (a URL's password masked)."""
        return mask_url(self.url) if self.url else str(self.root / LEDGER_FILE)

    def ledger(
        self, account: str, initial_cash: float, quote: str = "USDT", *, run_id: str | None = None
    ) -> LedgerStore:
        if self.url:
            from core.ledger_pg import PostgresLedger

            return PostgresLedger(self.url, account, initial_cash, quote, run_id=run_id)
        from core.ledger import Ledger

        return Ledger(self.root / LEDGER_FILE, account, initial_cash, quote, run_id=run_id)

    def accounts(self) -> AccountStore:
        if self.url:
            from core.accounts_pg import PostgresAccountBook

            return PostgresAccountBook(self.url)
        from core.accounts import AccountBook

        return AccountBook(self.root / LEDGER_FILE)

    def state_store(self, name: str) -> StateStore:
        """The key/value store `name` (`risk_state`, `llm_spend`)."""
        if self.url:
            from core.storage_pg import PostgresStateStore

            return PostgresStateStore(self.url, name)
        from core.storage import SqliteStateStore

        return SqliteStateStore(self.root / f"{name}.sqlite")

    def has_ledger(self) -> bool:
        """Whether there can be ledger rows to read (a server always counts: it is asked)."""
        return bool(self.url) or (self.root / LEDGER_FILE).exists()  # a folder there: say so

    def cancel_pending_orders(self, account: str | None = None) -> int:
        if self.url:
            from core.ledger_pg import cancel_pending_orders_pg

            return cancel_pending_orders_pg(self.url, account)
        from core.ledger import cancel_pending_orders

        return cancel_pending_orders(self.root / LEDGER_FILE, account)

    def rows_by_run(self) -> dict[str, tuple[set[str], set[str]]]:
        if self.url:
            from core.ledger_pg import rows_by_run_pg

            return rows_by_run_pg(self.url)
        from core.ledger import rows_by_run

        return rows_by_run(self.root / LEDGER_FILE)

    def check_ledger(self) -> None:
        """A ledger that cannot be used is one UserError line, raised before anything is
        written; for a server, this is where an unreachable URL is reported."""
        if not self.has_ledger():
            return
        book = self.accounts()
        try:
            book.check()
        finally:
            book.close()


def storage_for(settings: Settings, root: Path) -> Storage:
    """The stores `settings` ask for, for the data directory `root`."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return Storage(Path(root), url.strip() or None if url else None)
