"""The portfolio ledger: orders and fills of an account in SQLite, the portfolio rebuilt from them.

Each order and each fill is written in its own transaction, keyed by the client order id, so a
crash leaves either the whole record or none of it, and a resubmitted order is not duplicated.
An exchange fills one order in several trades: those are kept apart, keyed by the exchange's
trade id (`record_trade`), so each is counted exactly once however often it is polled.
An account outlives runs: every row also names the run that wrote it, so a paper replay that
was killed can be rolled back and replayed exactly (`discard_run`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.storage import usable_database
from core.types import Fill, Order, Portfolio, Position, Side

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS fills (
    client_order_id TEXT PRIMARY KEY REFERENCES orders(client_order_id),
    account TEXT NOT NULL,
    body TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS trades (
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


class Ledger:
    """Orders and fills of one account, with the portfolio they imply; new rows are written
    on behalf of `run_id` (the account's name when not given)."""

    def __init__(
        self,
        path: Path,
        account: str,
        initial_cash: float,
        quote: str = "USDT",
        *,
        run_id: str | None = None,
    ) -> None:
        self.account = account
        self.run_id = run_id or account
        self._db = connect(path)
        self._initial_cash = initial_cash
        self._quote = quote
        with usable_database(path):
            self._portfolio = self._rebuild()

    @property
    def portfolio(self) -> Portfolio:
        return self._portfolio

    def record_order(self, order: Order) -> bool:
        """Store a new pending order; False when that client order id is already known."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO orders (client_order_id, account, body, status, run_id) "
            "VALUES (?, ?, ?, 'pending', ?)",
            (order.client_order_id, self.account, order.model_dump_json(), self.run_id),
        )
        return cursor.rowcount == 1

    def pending_orders(self) -> list[Order]:
        rows = self._db.execute(
            "SELECT body FROM orders WHERE account = ? AND status = 'pending' ORDER BY rowid",
            (self.account,),
        ).fetchall()
        return [Order.model_validate_json(body) for (body,) in rows]

    def record_fill(self, fill: Fill, stop_loss: float | None = None) -> bool:
        """Store a fill and close its pending order atomically; False (and nothing written)
        when the fill is already recorded or the order was cancelled meanwhile, e.g. by a
        halt from another process."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            closed = self._db.execute(
                "UPDATE orders SET status = 'filled' WHERE client_order_id = ? "
                "AND status = 'pending'",
                (fill.client_order_id,),
            )
            added = closed.rowcount == 1 and (
                self._db.execute(
                    "INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?)",
                    (fill.client_order_id, self.account, fill.model_dump_json(), self.run_id),
                ).rowcount
                == 1
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT" if added else "ROLLBACK")
        if not added:
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
        self._db.execute("BEGIN IMMEDIATE")
        try:
            known = self._db.execute(
                "SELECT 1 FROM orders WHERE client_order_id = ? AND account = ?",
                (fill.client_order_id, self.account),
            ).fetchone()
            if known is None:
                raise KeyError(f"trade {trade_id} is of order {fill.client_order_id!r}, unknown")
            added = (
                self._db.execute(
                    "INSERT OR IGNORE INTO trades VALUES (?, ?, ?, ?, ?)",
                    (self.account, trade_id, fill.client_order_id, fill.model_dump_json(),
                     self.run_id),
                ).rowcount
                == 1
            )  # fmt: skip
            if done:
                self._set_status(fill.client_order_id, "filled")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        if added:
            self._portfolio = apply_fill(self._portfolio, fill, stop_loss)
        return added

    def trade_ids(self, client_order_id: str) -> set[str]:
        """The exchange trade ids already recorded for an order."""
        rows = self._db.execute(
            "SELECT trade_id FROM trades WHERE account = ? AND client_order_id = ?",
            (self.account, client_order_id),
        ).fetchall()
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

    def status(self, client_order_id: str) -> tuple[str, str] | None:
        """(status, reason) of an order of this account, None when it is unknown."""
        row = self._db.execute(
            "SELECT status, reason FROM orders WHERE client_order_id = ? AND account = ?",
            (client_order_id, self.account),
        ).fetchone()
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
        where, args = "account = ?", [self.account]
        if run_id is not None:
            where, args = where + " AND run_id = ?", [*args, run_id]
        rows = self._db.execute(
            f"SELECT body FROM fills WHERE {where} ORDER BY rowid", args
        ).fetchall()
        traded = self._db.execute(
            f"SELECT body FROM trades WHERE {where} ORDER BY rowid", args
        ).fetchall()
        found = [Fill.model_validate_json(body) for (body,) in [*rows, *traded]]
        return sorted(found, key=lambda fill: fill.ts)

    def orders(self, run_id: str | None = None) -> list[tuple[Order, str]]:
        """The account's orders with their status, oldest first (only one run's, if given)."""
        where, args = "account = ?", [self.account]
        if run_id is not None:
            where, args = where + " AND run_id = ?", [*args, run_id]
        rows = self._db.execute(
            f"SELECT body, status FROM orders WHERE {where} ORDER BY rowid", args
        ).fetchall()
        return [(Order.model_validate_json(body), str(status)) for body, status in rows]

    def discard_run(self, run_id: str) -> int:
        """Delete what one run wrote (paper only: a killed replay is rolled back, then replayed
        from its start); the portfolio is rebuilt from what remains. Rows deleted."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            gone = self._db.execute(
                "DELETE FROM fills WHERE account = ? AND run_id = ?", (self.account, run_id)
            ).rowcount
            gone += self._db.execute(
                "DELETE FROM trades WHERE account = ? AND run_id = ?", (self.account, run_id)
            ).rowcount
            gone += self._db.execute(
                "DELETE FROM orders WHERE account = ? AND run_id = ?", (self.account, run_id)
            ).rowcount
        self._portfolio = self._rebuild()
        return int(gone)

    def close(self) -> None:
        self._db.close()

    def _rebuild(self) -> Portfolio:
        """The portfolio from the fills and trades (in time order), with each entry's
        stop-loss from its order."""
        rows = [
            *self._db.execute(
                "SELECT f.body, o.body FROM fills f JOIN orders o USING (client_order_id) "
                "WHERE f.account = ? ORDER BY f.rowid",
                (self.account,),
            ).fetchall(),
            *self._db.execute(
                "SELECT t.body, o.body FROM trades t JOIN orders o USING (client_order_id) "
                "WHERE t.account = ? ORDER BY t.rowid",
                (self.account,),
            ).fetchall(),
        ]
        pairs = [(Fill.model_validate_json(f), Order.model_validate_json(o)) for f, o in rows]
        portfolio = Portfolio(quote_currency=self._quote, cash=self._initial_cash)
        for fill, order in sorted(pairs, key=lambda pair: pair[0].ts):
            stop = order.stop_price if fill.side is Side.BUY else None
            portfolio = apply_fill(portfolio, fill, stop)
        return portfolio


def connect(path: Path) -> sqlite3.Connection:
    """The ledger file, created or brought to the current layout (accounts outlive runs); a
    file that is not a usable database is one StateStoreError."""
    with usable_database(path):
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        try:
            _bring_up_to_date(db)
        except BaseException:
            db.close()
            raise
    return db


def _bring_up_to_date(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    columns = {row[1] for row in db.execute("PRAGMA table_info(orders)")}
    if columns and "account" not in columns:  # the first layout keyed rows by run only
        for table in ("orders", "fills"):
            db.execute(f"ALTER TABLE {table} RENAME COLUMN run_id TO account")
            db.execute(f"ALTER TABLE {table} ADD COLUMN run_id TEXT NOT NULL DEFAULT ''")
            db.execute(f"UPDATE {table} SET run_id = account")
    db.executescript(_SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(orders)")}
    if "reason" not in columns:  # why an exchange rejected an order (added with ccxt)
        db.execute("ALTER TABLE orders ADD COLUMN reason TEXT NOT NULL DEFAULT ''")


def cancel_pending_orders(path: Path, account: str | None = None) -> int:
    """Cancel pending orders in a ledger file (of one account, or all); how many.

    For the kill switch from another process: the running session sees the cancellation
    because it reads pending orders from the ledger at every fill step.
    """
    if not path.exists():
        return 0
    db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    try:
        where = "status = 'pending'" + (" AND account = ?" if account else "")
        cursor = db.execute(
            f"UPDATE orders SET status = 'cancelled' WHERE {where}", (account,) if account else ()
        )
        return cursor.rowcount
    finally:
        db.close()


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
    found: dict[str, tuple[set[str], set[str]]] = {}
    with usable_database(Path(path)):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            for index, table in enumerate(("orders", "fills")):
                try:
                    rows = db.execute(f"SELECT run_id, client_order_id FROM {table}").fetchall()
                except sqlite3.OperationalError as exc:
                    if "no such table" not in str(exc):
                        raise
                    continue
                for run_id, client_order_id in rows:
                    found.setdefault(str(run_id), (set(), set()))[index].add(str(client_order_id))
        finally:
            db.close()
    return found
