"""The portfolio ledger on PostgreSQL: the same rows and transactions as `core.ledger.Ledger`.

Rows keep their insertion order in a `seq` column (SQLite's rowid plays that part there), the
client order id is the primary key of both tables, and an order's fill and its status change are
one transaction, so a crash or a second process never leaves a fill without its order closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.database import connect, create_schema, usable_server
from core.ledger import apply_fill
from core.types import Fill, Order, Portfolio, Side

if TYPE_CHECKING:
    import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    seq BIGSERIAL UNIQUE,
    client_order_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS fills (
    seq BIGSERIAL UNIQUE,
    client_order_id TEXT PRIMARY KEY REFERENCES orders(client_order_id),
    account TEXT NOT NULL,
    body TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS fills_account ON fills(account);
CREATE INDEX IF NOT EXISTS orders_account ON orders(account, status)
"""


class _NotAddedError(Exception):
    """Rolls a fill's transaction back when its order was not pending."""


class PostgresLedger:
    """Orders and fills of one account in a PostgreSQL database, with the portfolio they imply."""

    def __init__(
        self,
        url: str,
        account: str,
        initial_cash: float,
        quote: str = "USDT",
        *,
        run_id: str | None = None,
    ) -> None:
        self.account = account
        self.run_id = run_id or account
        self._url = url
        self._db = open_ledger_database(url)
        self._initial_cash = initial_cash
        self._quote = quote
        with usable_server(url):
            self._portfolio = self._rebuild()

    @property
    def portfolio(self) -> Portfolio:
        return self._portfolio

    def record_order(self, order: Order) -> bool:
        """Store a new pending order; False when that client order id is already known."""
        with usable_server(self._url):
            cursor = self._db.execute(
                "INSERT INTO orders (client_order_id, account, body, status, run_id) "
                "VALUES (%s, %s, %s, 'pending', %s) ON CONFLICT (client_order_id) DO NOTHING",
                (order.client_order_id, self.account, order.model_dump_json(), self.run_id),
            )
        return cursor.rowcount == 1

    def pending_orders(self) -> list[Order]:
        rows = self._rows(
            "SELECT body FROM orders WHERE account = %s AND status = 'pending' ORDER BY seq",
            (self.account,),
        )
        return [Order.model_validate_json(str(body)) for (body,) in rows]

    def record_fill(self, fill: Fill, stop_loss: float | None = None) -> bool:
        """Store a fill and close its pending order atomically; False (and nothing written)
        when the fill is already recorded or the order was cancelled meanwhile."""
        try:
            with usable_server(self._url), self._db.transaction():
                closed = self._db.execute(
                    "UPDATE orders SET status = 'filled' WHERE client_order_id = %s "
                    "AND status = 'pending'",
                    (fill.client_order_id,),
                )
                if closed.rowcount != 1:
                    raise _NotAddedError
                added = self._db.execute(
                    "INSERT INTO fills (client_order_id, account, body, run_id) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (client_order_id) DO NOTHING",
                    (fill.client_order_id, self.account, fill.model_dump_json(), self.run_id),
                )
                if added.rowcount != 1:
                    raise _NotAddedError
        except _NotAddedError:
            return False
        self._portfolio = apply_fill(self._portfolio, fill, stop_loss)
        return True

    def cancel(self, client_order_id: str) -> None:
        with usable_server(self._url):
            self._db.execute(
                "UPDATE orders SET status = 'cancelled' WHERE client_order_id = %s "
                "AND status = 'pending'",
                (client_order_id,),
            )

    def fills(self, run_id: str | None = None) -> list[Fill]:
        """The account's fills in the order they were recorded (only one run's, if given)."""
        if run_id is None:
            rows = self._rows(
                "SELECT body FROM fills WHERE account = %s ORDER BY seq", (self.account,)
            )
        else:
            rows = self._rows(
                "SELECT body FROM fills WHERE account = %s AND run_id = %s ORDER BY seq",
                (self.account, run_id),
            )
        return [Fill.model_validate_json(str(body)) for (body,) in rows]

    def orders(self, run_id: str | None = None) -> list[tuple[Order, str]]:
        """The account's orders with their status, oldest first (only one run's, if given)."""
        if run_id is None:
            rows = self._rows(
                "SELECT body, status FROM orders WHERE account = %s ORDER BY seq",
                (self.account,),
            )
        else:
            rows = self._rows(
                "SELECT body, status FROM orders WHERE account = %s AND run_id = %s ORDER BY seq",
                (self.account, run_id),
            )
        return [(Order.model_validate_json(str(body)), str(status)) for body, status in rows]

    def discard_run(self, run_id: str) -> int:
        """Delete what one run wrote (fills first: they refer to orders), in one transaction."""
        with usable_server(self._url), self._db.transaction():
            gone = self._db.execute(
                "DELETE FROM fills WHERE account = %s AND run_id = %s", (self.account, run_id)
            ).rowcount
            gone += self._db.execute(
                "DELETE FROM orders WHERE account = %s AND run_id = %s", (self.account, run_id)
            ).rowcount
        self._portfolio = self._rebuild()
        return int(gone)

    def close(self) -> None:
        self._db.close()

    def _rows(self, query: str, args: tuple[str, ...]) -> list[tuple[object, ...]]:
        with usable_server(self._url):
            return self._db.execute(query.encode(), args).fetchall()

    def _rebuild(self) -> Portfolio:
        rows = self._rows(
            "SELECT f.body, o.body FROM fills f JOIN orders o USING (client_order_id) "
            "WHERE f.account = %s ORDER BY f.seq",
            (self.account,),
        )
        portfolio = Portfolio(quote_currency=self._quote, cash=self._initial_cash)
        for fill_body, order_body in rows:
            fill = Fill.model_validate_json(str(fill_body))
            order = Order.model_validate_json(str(order_body))
            stop = order.stop_price if fill.side is Side.BUY else None
            portfolio = apply_fill(portfolio, fill, stop)
        return portfolio


def open_ledger_database(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection with the ledger's tables in place."""
    db = connect(url)
    try:
        with usable_server(url):
            create_schema(db, SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def cancel_pending_orders_pg(url: str, account: str | None = None) -> int:
    """Cancel pending orders (of one account, or all); how many. The kill switch's path."""
    db = open_ledger_database(url)
    try:
        with usable_server(url):
            if account is None:
                cursor = db.execute(
                    "UPDATE orders SET status = 'cancelled' WHERE status = 'pending'"
                )
            else:
                cursor = db.execute(
                    "UPDATE orders SET status = 'cancelled' WHERE status = 'pending' "
                    "AND account = %s",
                    (account,),
                )
            return cursor.rowcount
    finally:
        db.close()


def rows_by_run_pg(url: str) -> dict[str, tuple[set[str], set[str]]]:
    """Every run's client order ids of its orders and of its fills."""
    db = open_ledger_database(url)
    found: dict[str, tuple[set[str], set[str]]] = {}
    try:
        with usable_server(url):
            for index, table in enumerate((b"orders", b"fills")):
                rows = db.execute(b"SELECT run_id, client_order_id FROM " + table).fetchall()
                for run_id, client_order_id in rows:
                    found.setdefault(str(run_id), (set(), set()))[index].add(str(client_order_id))
    finally:
        db.close()
    return found
