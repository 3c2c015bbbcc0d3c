"""The ledger's guarantees hold on every backend (the `storage` fixture: SQLite and PostgreSQL):
a client order id is stored once, a fill closes its order once, a run can be rolled back, and
the kill switch's and the audit's whole-ledger operations see every account."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.backends import Storage
from core.types import Fill, Order, OrderType, Side

ROOT = Path(__file__).resolve().parents[2]


def _order(coid: str, side: Side = Side.BUY) -> Order:
    return Order(
        client_order_id=coid,
        symbol="SYN/USDT",
        side=side,
        type=OrderType.MARKET,
        quantity=1.0,
        reference_price=100.0,
        stop_price=90.0 if side is Side.BUY else None,
        created_ms=1_000,
    )


def _fill(coid: str, side: Side = Side.BUY, price: float = 100.0) -> Fill:
    return Fill(
        client_order_id=coid, symbol="SYN/USDT", side=side, quantity=1.0, price=price, fee=0.0, ts=2
    )


def test_a_client_order_id_is_stored_once_across_two_handles(storage: Storage) -> None:
    first, second = storage.ledger("acct", 1_000.0), storage.ledger("acct", 1_000.0)

    assert first.record_order(_order("o-1")) is True
    assert second.record_order(_order("o-1")) is False
    assert [o.client_order_id for o in second.pending_orders()] == ["o-1"]


def test_a_fill_raced_by_two_handles_is_recorded_once(storage: Storage) -> None:
    handles = [storage.ledger("acct", 1_000.0) for _ in range(4)]
    handles[0].record_order(_order("o-1"))

    with ThreadPoolExecutor(len(handles)) as pool:
        won = list(pool.map(lambda ledger: ledger.record_fill(_fill("o-1")), handles))

    assert sorted(won) == [False, False, False, True]
    reopened = storage.ledger("acct", 1_000.0)
    assert reopened.portfolio.cash == pytest.approx(900.0)
    assert reopened.orders() == [(_order("o-1"), "filled")]


def test_discarding_a_run_removes_only_its_rows_and_rebuilds_the_portfolio(
    storage: Storage,
) -> None:
    kept = storage.ledger("acct", 1_000.0, run_id="r1")
    kept.record_order(_order("r1-buy"))
    kept.record_fill(_fill("r1-buy"))
    rolled_back = storage.ledger("acct", 1_000.0, run_id="r2")
    rolled_back.record_order(_order("r2-sell", Side.SELL))
    rolled_back.record_fill(_fill("r2-sell", Side.SELL, price=120.0))

    gone = rolled_back.discard_run("r2")

    assert gone == 2
    assert [f.client_order_id for f in rolled_back.fills()] == ["r1-buy"]
    assert rolled_back.portfolio.quantity("SYN/USDT") == pytest.approx(1.0)
    assert rolled_back.portfolio.positions["SYN/USDT"].stop_loss == 90.0


def test_the_kill_switch_cancels_pending_orders_of_one_account_or_all(storage: Storage) -> None:
    for account in ("alice", "bob"):
        ledger = storage.ledger(account, 1_000.0)
        ledger.record_order(_order(f"{account}-1"))
        ledger.record_order(_order(f"{account}-2"))

    assert storage.cancel_pending_orders("alice") == 2
    assert storage.cancel_pending_orders() == 2
    assert storage.ledger("bob", 1_000.0).pending_orders() == []


def test_the_audit_reads_every_runs_orders_and_fills(storage: Storage) -> None:
    ledger = storage.ledger("acct", 1_000.0, run_id="r1")
    ledger.record_order(_order("o-1"))
    ledger.record_order(_order("o-2"))
    ledger.record_fill(_fill("o-1"))

    assert storage.rows_by_run() == {"r1": ({"o-1", "o-2"}, {"o-1"})}


def test_sqlite_users_never_load_psycopg(tmp_path) -> None:
    script = (
        "import sys, pathlib; from core.backends import Storage; "
        f"s = Storage(pathlib.Path({str(tmp_path)!r})); s.ledger('a', 1.0).close(); "
        "s.state_store('risk_state').put('k', 'v'); s.accounts().close(); "
        "assert 'psycopg' not in sys.modules, 'psycopg was imported'"
    )

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)

    assert done.returncode == 0, done.stderr
