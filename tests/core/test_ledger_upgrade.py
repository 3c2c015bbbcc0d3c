"""Ledgers written by earlier versions open, keep their rows and take exchange trades: the first
SQLite layout (rows keyed by run), the SQLite layout before trades, and the PostgreSQL layout
before trades."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from core.ledger import Ledger
from core.types import Fill, Order, OrderType, Side

FIRST_SQLITE_LAYOUT = """
CREATE TABLE orders (client_order_id TEXT PRIMARY KEY, run_id TEXT NOT NULL,
    body TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE fills (client_order_id TEXT PRIMARY KEY REFERENCES orders(client_order_id),
    run_id TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX fills_run ON fills(run_id);
CREATE INDEX orders_run ON orders(run_id, status);
"""
SQLITE_LAYOUT_BEFORE_TRADES = """
CREATE TABLE orders (client_order_id TEXT PRIMARY KEY, account TEXT NOT NULL,
    body TEXT NOT NULL, status TEXT NOT NULL, run_id TEXT NOT NULL DEFAULT '');
CREATE TABLE fills (client_order_id TEXT PRIMARY KEY REFERENCES orders(client_order_id),
    account TEXT NOT NULL, body TEXT NOT NULL, run_id TEXT NOT NULL DEFAULT '');
"""
POSTGRES_LAYOUT_BEFORE_TRADES = [
    "CREATE TABLE orders (seq BIGSERIAL UNIQUE, client_order_id TEXT PRIMARY KEY, "
    "account TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, "
    "run_id TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE fills (seq BIGSERIAL UNIQUE, "
    "client_order_id TEXT PRIMARY KEY REFERENCES orders(client_order_id), "
    "account TEXT NOT NULL, body TEXT NOT NULL, run_id TEXT NOT NULL DEFAULT '')",
]


def _order(coid: str) -> Order:
    return Order(
        client_order_id=coid,
        symbol="SYN/USDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        quantity=1.0,
        reference_price=100.0,
        stop_price=90.0,
        created_ms=1,
    )


def _fill(coid: str, ts: int) -> Fill:
    return Fill(
        client_order_id=coid,
        symbol="SYN/USDT",
        side=Side.BUY,
        quantity=1.0,
        price=100.0,
        fee=0.0,
        ts=ts,
    )


ORDER, FILL = _order("old-1").model_dump_json(), _fill("old-1", 2).model_dump_json()


def _carries_on(ledger: Ledger) -> None:
    assert ledger.portfolio.quantity("SYN/USDT") == pytest.approx(1.0)
    assert ledger.portfolio.positions["SYN/USDT"].stop_loss == 90.0
    assert ledger.record_order(_order("new-1"))
    assert ledger.record_trade("t-1", _fill("new-1", 3), done=True)
    assert ledger.status("old-1") == ("filled", "")
    assert [f.client_order_id for f in ledger.fills()] == ["old-1", "new-1"]


@pytest.mark.parametrize(
    ("layout", "account_column", "old_run"),
    [(FIRST_SQLITE_LAYOUT, "run_id", "acct"), (SQLITE_LAYOUT_BEFORE_TRADES, "account", "")],
    ids=["first-layout", "before-trades"],
)
def test_a_sqlite_ledger_of_an_earlier_layout_is_brought_up_to_date(
    tmp_path, layout: str, account_column: str, old_run: str
):
    path = tmp_path / "ledger.sqlite"
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(layout)
        for table, body, status in (("orders", ORDER, ", 'filled'"), ("fills", FILL, "")):
            db.execute(
                f"INSERT INTO {table} (client_order_id, {account_column}, body"
                f"{', status' if status else ''}) VALUES ('old-1', 'acct', ?{status})",
                (body,),
            )

    ledger = Ledger(path, "acct", 1_000.0, run_id="after-upgrade")

    _carries_on(ledger)
    assert [order.client_order_id for order, _ in ledger.orders(run_id=old_run)] == ["old-1"]


def test_a_postgresql_ledger_from_before_exchange_trades_takes_them(database_url):
    import psycopg

    from core.ledger_pg import PostgresLedger

    with psycopg.connect(database_url, autocommit=True) as db:
        for statement in POSTGRES_LAYOUT_BEFORE_TRADES:
            db.execute(statement.encode())
        db.execute(
            "INSERT INTO orders (client_order_id, account, body, status) "
            "VALUES ('old-1', 'acct', %s, 'filled')",
            (ORDER,),
        )
        db.execute(
            "INSERT INTO fills (client_order_id, account, body) VALUES ('old-1', 'acct', %s)",
            (FILL,),
        )

    _carries_on(PostgresLedger(database_url, "acct", 1_000.0))
