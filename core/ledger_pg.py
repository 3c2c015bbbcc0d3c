"""The portfolio ledger on PostgreSQL: `core.ledger.Ledger` on a server's connection.

The rows, transactions and logic are the ledger's own; only the connection differs. Rows keep
their insertion order in a `seq` column (SQLite's rowid plays that part there), and an
order's fill and its status change are one transaction, so a crash or a second process never
leaves a fill without its order closed.
"""

from __future__ import annotations

from core.database import PostgresDatabase
from core.ledger import Ledger, cancel_pending, orders_and_fills_by_run, prepare_ledger


class PostgresLedger(Ledger):
    """Orders and fills of one account in the PostgreSQL database at `url`."""

    def __init__(
        self,
        url: str,
        account: str,
        initial_cash: float,
        quote: str = "USDT",
        *,
        run_id: str | None = None,
    ) -> None:
        super().__init__(open_ledger_database(url), account, initial_cash, quote, run_id=run_id)


def open_ledger_database(url: str) -> PostgresDatabase:
    """A connection with the ledger's tables in place (older layouts brought up to date)."""
    return prepare_ledger(PostgresDatabase(url))


def cancel_pending_orders_pg(url: str, account: str | None = None) -> int:
    """Cancel pending orders (of one account, or all); how many. The kill switch's path."""
    db = open_ledger_database(url)
    try:
        return cancel_pending(db, account)
    finally:
        db.close()


def rows_by_run_pg(url: str) -> dict[str, tuple[set[str], set[str]]]:
    """Every run's client order ids of its orders and of its fills."""
    db = open_ledger_database(url)
    try:
        return orders_and_fills_by_run(db)
    finally:
        db.close()
