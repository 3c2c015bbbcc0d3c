"""The portfolio ledger: orders and fills of an account, the portfolio rebuilt from them.

One `Ledger` serves a SQLite file and, through `core.ledger_pg.PostgresLedger`, a PostgreSQL
database: the logic is written once against `core.sql.Database`.

Each order and each fill is written in its own transaction, keyed by the client order id, so a
crash leaves either the whole record or none of it, and a resubmitted order is not duplicated.
An exchange fills one order in several trades: those are kept apart, keyed by the exchange's
trade id (`record_trade`), so each is counted exactly once however often it is polled.
An account outlives runs: every row also names the run that wrote it, so a paper replay that
was killed can be rolled back and replayed exactly (`discard_run`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from core.sql import Database, Row, SqliteDatabase, prepared
from core.types import Fill, Order, Portfolio, Position, Side

_D = TypeVar("_D", bound=Database)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    {row_order}
    client_order_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS fills (
    {row_order}
    client_order_id TEXT PRIMARY KEY REFERENCES orders(client_order_id),
    account TEXT NOT NULL,
    body TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS trades (
    {row_order}
    account TEXT NOT NULL,
    trade_id TEXT NOT NULL,
    client_order_id TEXT NOT NULL REFERENCES orders(client_order_id),
    body TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, trade_id)
);
CREATE INDEX IF NOT EXISTS fills_account ON fills(account);
CREATE INDEX IF NOT EXISTS orders_account ON orders(account, status);
"""


class _NotAddedError(Exception):
    """Rolls a fill's transaction back when its order was not pending or the fill is known."""


class Ledger:
    """Orders and fills of one account, with the portfolio they imply; new rows are written
    on behalf of `run_id` (the account's name when not given). `path` is a SQLite file, or a
    database already opened (`PostgresLedger` opens a server's)."""

    def __init__(
        self,
        path: Path | Database,
        account: str,
        initial_cash: float,
        quote: str = "USDT",
        *,
        run_id: str | None = None,
    ) -> None:
        self.account = account
        self.run_id = run_id or account
        self._db = path if isinstance(path, Database) else connect(path)
        self._order = self._db.dialect.row_order
        self._initial_cash = initial_cash
        self._quote = quote
        self._portfolio = self._rebuild()

    @property
    def portfolio(self) -> Portfolio:
        return self._portfolio

    def record_order(self, order: Order) -> bool:
        """Store a new pending order; False when that client order id is already known."""
        added = self._db.execute(
            "INSERT INTO orders (client_order_id, account, body, status, run_id) "
            "VALUES (?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
            (order.client_order_id, self.account, order.model_dump_json(), self.run_id),
        )
        return added == 1

    def pending_orders(self) -> list[Order]:
        rows = self._db.all(
            "SELECT body FROM orders WHERE account = ? AND status = 'pending' "
            f"ORDER BY {self._order}",
            (self.account,),
        )
        return [Order.model_validate_json(body) for (body,) in rows]

    def record_fill(self, fill: Fill, stop_loss: float | None = None) -> bool:
        """Store a fill and close its pending order atomically; False (and nothing written)
        when the fill is already recorded or the order was cancelled meanwhile, e.g. by a
        halt from another process."""
        try:
            with self._db.transaction():
                closed = self._db.execute(
                    "UPDATE orders SET status = 'filled' WHERE client_order_id = ? "
                    "AND status = 'pending'",
                    (fill.client_order_id,),
                )
                if closed != 1:
                    raise _NotAddedError
                added = self._db.execute(
                    "INSERT INTO fills (client_order_id, account, body, run_id) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (fill.client_order_id, self.account, fill.model_dump_json(), self.run_id),
                )
                if added != 1:
                    raise _NotAddedError
        except _NotAddedError:
            return False
        self._portfolio = apply_fill(self._portfolio, fill, stop_loss)
        return True

    def cancel(self, client_order_id: str) -> None:
        self._db.execute(
            "UPDATE orders SET status = 'cancelled' WHERE client_order_id = ? "
            "AND status = 'pending'",
            (client_order_id,),
        )

    def record_trade(
        self, trade_id: str, fill: Fill, stop_loss: float | None = None, *, done: bool = False
    ) -> bool:
        """Store one exchange trade of a known order (whatever its status: money moved on the
        exchange), and close the order when `done`; False when that trade id is already
        recorded. One transaction, so a crash never counts a trade half."""
        with self._db.transaction():
            known = self._db.one(
                "SELECT 1 FROM orders WHERE client_order_id = ? AND account = ?",
                (fill.client_order_id, self.account),
            )
            if known is None:
                raise KeyError(f"trade {trade_id} is of order {fill.client_order_id!r}, unknown")
            added = self._db.execute(
                "INSERT INTO trades (account, trade_id, client_order_id, body, run_id) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (self.account, trade_id, fill.client_order_id, fill.model_dump_json(),
                 self.run_id),
            ) == 1  # fmt: skip
            if done:
                self._set_status(fill.client_order_id, "filled")
        if added:
            self._portfolio = apply_fill(self._portfolio, fill, stop_loss)
        return added

    def trade_ids(self, client_order_id: str) -> set[str]:
        """The exchange trade ids already recorded for an order."""
        rows = self._db.all(
            "SELECT trade_id FROM trades WHERE account = ? AND client_order_id = ?",
            (self.account, client_order_id),
        )
        return {str(trade_id) for (trade_id,) in rows}

    def mark_filled(self, client_order_id: str) -> None:
        """A pending order the exchange reports done (all its trades recorded)."""
        self._set_status(client_order_id, "filled")

    def reject(self, client_order_id: str, reason: str) -> None:
        """A pending order the exchange refused, with its reason (kept for the audit)."""
        self._db.execute(
            "UPDATE orders SET status = 'rejected', reason = ? WHERE client_order_id = ? "
            "AND account = ? AND status = 'pending'",
            (reason, client_order_id, self.account),
        )

    def note(self, client_order_id: str, reason: str) -> None:
        """Say why an order is in the ledger when tradegraph did not place it (an external
        order adopted, a position closed by reconciliation), whatever its status."""
        self._db.execute(
            "UPDATE orders SET reason = ? WHERE client_order_id = ? AND account = ?",
            (reason, client_order_id, self.account),
        )

    def status(self, client_order_id: str) -> tuple[str, str] | None:
        """(status, reason) of an order of this account, None when it is unknown."""
        row = self._db.one(
            "SELECT status, reason FROM orders WHERE client_order_id = ? AND account = ?",
            (client_order_id, self.account),
        )
        return None if row is None else (str(row[0]), str(row[1]))

    def _set_status(self, client_order_id: str, status: str) -> None:
        self._db.execute(
            "UPDATE orders SET status = ? WHERE client_order_id = ? AND account = ? "
            "AND status = 'pending'",
            (status, client_order_id, self.account),
        )

    def fills(self, run_id: str | None = None) -> list[Fill]:
        """The account's fills, paper fills and exchange trades, in time order (stable: in the
        order recorded within a table); only one run's, if given."""
        found = [
            Fill.model_validate_json(body)
            for table in ("fills", "trades")
            for (body,) in self._rows(f"SELECT body FROM {table}", run_id)
        ]
        return sorted(found, key=lambda fill: fill.ts)

    def orders(self, run_id: str | None = None) -> list[tuple[Order, str]]:
        """The account's orders with their status, oldest first (only one run's, if given)."""
        rows = self._rows("SELECT body, status FROM orders", run_id)
        return [(Order.model_validate_json(body), str(status)) for body, status in rows]

    def _rows(self, select: str, run_id: str | None) -> list[Row]:
        """`select` over this account's rows (one run's, if given), oldest first."""
        where, args = "account = ?", [self.account]
        if run_id is not None:
            where, args = where + " AND run_id = ?", [*args, run_id]
        return self._db.all(f"{select} WHERE {where} ORDER BY {self._order}", args)

    def discard_run(self, run_id: str) -> int:
        """Delete what one run wrote (paper only: a killed replay is rolled back, then replayed
        from its start); the portfolio is rebuilt from what remains. Rows deleted (fills and
        trades first: they refer to orders), in one transaction."""
        with self._db.transaction():
            gone = sum(
                self._db.execute(
                    f"DELETE FROM {table} WHERE account = ? AND run_id = ?", (self.account, run_id)
                )
                for table in ("fills", "trades", "orders")
            )
        self._portfolio = self._rebuild()
        return gone

    def close(self) -> None:
        self._db.close()

    def _rebuild(self) -> Portfolio:
        """The portfolio from the fills and trades (in time order), with each entry's
        stop-loss from its order."""
        pairs = [
            (Fill.model_validate_json(fill), Order.model_validate_json(order))
            for table in ("fills", "trades")
            for fill, order in self._db.all(
                f"SELECT f.body, o.body FROM {table} f JOIN orders o USING (client_order_id) "
                f"WHERE f.account = ? ORDER BY f.{self._order}",
                (self.account,),
            )
        ]
        portfolio = Portfolio(quote_currency=self._quote, cash=self._initial_cash)
        for fill, order in sorted(pairs, key=lambda pair: pair[0].ts):
            stop = order.stop_price if fill.side is Side.BUY else None
            portfolio = apply_fill(portfolio, fill, stop)
        return portfolio


def connect(path: Path) -> SqliteDatabase:
    """The ledger file, created or brought to the current layout (accounts outlive runs); a
    file that is not a usable database is one StateStoreError."""
    return prepare_ledger(SqliteDatabase(path))


def prepare_ledger(db: _D) -> _D:
    """`db` with the ledger's tables in the current layout; closed when that fails."""
    return prepared(db, _bring_up_to_date)


def _bring_up_to_date(db: Database) -> None:
    columns = db.columns("orders")
    if columns and "account" not in columns:  # the first layout keyed rows by run only
        for table in ("orders", "fills"):
            db.execute(f"ALTER TABLE {table} RENAME COLUMN run_id TO account")
            db.execute(f"ALTER TABLE {table} ADD COLUMN run_id TEXT NOT NULL DEFAULT ''")
            db.execute(f"UPDATE {table} SET run_id = account")
    db.create_schema(db.dialect.schema(_SCHEMA))
    # why an exchange rejected an order (added with ccxt)
    db.add_column("orders", "reason", "reason TEXT NOT NULL DEFAULT ''")


def cancel_pending_orders(path: Path, account: str | None = None) -> int:
    """Cancel pending orders in a ledger file (of one account, or all); how many.

    For the kill switch from another process: the running session sees the cancellation
    because it reads pending orders from the ledger at every fill step.
    """
    if not path.exists():
        return 0
    db = SqliteDatabase(path)
    try:
        return cancel_pending(db, account)
    finally:
        db.close()


def cancel_pending(db: Database, account: str | None) -> int:
    """Cancel the pending orders in `db` (of one account, or all); how many."""
    if not db.columns("orders"):
        return 0
    if account is None:
        return db.execute("UPDATE orders SET status = 'cancelled' WHERE status = 'pending'")
    return db.execute(
        "UPDATE orders SET status = 'cancelled' WHERE status = 'pending' AND account = ?",
        (account,),
    )


def apply_fill(portfolio: Portfolio, fill: Fill, stop_loss: float | None) -> Portfolio:
    """The portfolio after one spot fill: cash moves by notional and fee, quantity by size."""
    held = portfolio.positions.get(fill.symbol)
    quantity = held.quantity if held else 0.0
    positions = dict(portfolio.positions)
    if fill.side is Side.BUY:
        cash = portfolio.cash - fill.notional - fill.fee
        new_qty = quantity + fill.quantity
        cost = (held.avg_price * quantity if held else 0.0) + fill.notional
        positions[fill.symbol] = Position(
            symbol=fill.symbol,
            quantity=new_qty,
            avg_price=cost / new_qty,
            stop_loss=stop_loss if stop_loss is not None else (held.stop_loss if held else None),
        )
    else:
        cash = portfolio.cash + fill.notional - fill.fee
        new_qty = quantity - fill.quantity
        if held is not None and new_qty > 1e-12:
            positions[fill.symbol] = held.model_copy(update={"quantity": new_qty})
        else:
            positions.pop(fill.symbol, None)
    return portfolio.model_copy(update={"cash": cash, "positions": positions})


def rows_by_run(path: Path) -> dict[str, tuple[set[str], set[str]]]:
    """Every run's client order ids of its orders and of its fills, read without writing (the
    audit reads while a run may write); empty when there is no ledger."""
    if not Path(path).is_file():
        return {}
    db = SqliteDatabase(path, read_only=True)
    try:
        return orders_and_fills_by_run(db)
    finally:
        db.close()


def orders_and_fills_by_run(db: Database) -> dict[str, tuple[set[str], set[str]]]:
    """Every run's client order ids of its orders and of its fills in `db`."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    for index, table in enumerate(("orders", "fills")):
        if not db.columns(table):
            continue
        for run_id, client_order_id in db.all(f"SELECT run_id, client_order_id FROM {table}"):
            found.setdefault(str(run_id), (set(), set()))[index].add(str(client_order_id))
    return found
