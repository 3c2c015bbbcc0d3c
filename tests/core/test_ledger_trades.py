"""Exchange trades in the ledger, on every backend (the `storage` fixture: SQLite and
PostgreSQL): several per order, each counted once, kept across reopening."""

from __future__ import annotations

import pytest

from core.backends import Storage
from core.types import Fill, Order, OrderType, Side


def _order(coid: str = "tg-1") -> Order:
    return Order(
        client_order_id=coid,
        symbol="BTC/USDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=0.3,
        reference_price=29000.0,
        limit_price=29000.0,
        created_ms=1,
    )


def _fill(quantity: float, ts: int, coid: str = "tg-1") -> Fill:
    return Fill(
        client_order_id=coid,
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=quantity,
        price=29000.0,
        fee=0.0,
        ts=ts,
    )


def test_trades_of_one_order_accumulate_once_each_and_survive_a_reopen(storage: Storage):
    ledger = storage.ledger("acct", 10_000.0)
    ledger.record_order(_order())
    assert ledger.record_trade("7", _fill(0.1, 2))
    assert not ledger.record_trade("7", _fill(0.1, 2))  # polled again: not counted twice
    assert ledger.record_trade("8", _fill(0.2, 3), done=True)
    assert ledger.portfolio.quantity("BTC/USDT") == pytest.approx(0.3)
    assert ledger.status("tg-1") == ("filled", "")
    assert ledger.trade_ids("tg-1") == {"7", "8"}
    ledger.close()
    reopened = storage.ledger("acct", 10_000.0)
    assert reopened.portfolio.cash == pytest.approx(10_000.0 - 0.3 * 29000.0)
    assert [f.quantity for f in reopened.fills()] == [0.1, 0.2]


def test_a_trade_of_an_unknown_order_is_refused(storage: Storage):
    ledger = storage.ledger("acct", 10_000.0)
    with pytest.raises(KeyError):
        ledger.record_trade("1", _fill(0.1, 2))
    assert ledger.fills() == []
    assert ledger.trade_ids("tg-1") == set()


def test_a_rejected_order_keeps_its_reason(storage: Storage):
    ledger = storage.ledger("acct", 10_000.0)
    ledger.record_order(_order())
    ledger.reject("tg-1", "insufficient funds")
    assert ledger.status("tg-1") == ("rejected", "insufficient funds")
    assert ledger.pending_orders() == []


def test_a_note_says_why_an_order_is_there_whatever_its_status(storage: Storage):
    ledger = storage.ledger("acct", 10_000.0)
    ledger.record_order(_order())
    ledger.mark_filled("tg-1")
    ledger.note("tg-1", "adopted from the exchange")
    ledger.reject("tg-1", "too late: it is filled")  # only a pending order can be rejected
    assert ledger.status("tg-1") == ("filled", "adopted from the exchange")
    assert ledger.status("tg-2") is None


def test_trade_ids_are_per_account(storage: Storage):
    alice, bob = storage.ledger("alice", 10_000.0), storage.ledger("bob", 10_000.0)
    alice.record_order(_order("a-1"))
    bob.record_order(_order("b-1"))
    assert alice.record_trade("7", _fill(0.1, 2, "a-1"))
    assert bob.record_trade("7", _fill(0.1, 2, "b-1"))  # the same id on another account
    assert bob.status("a-1") is None
    assert (alice.trade_ids("a-1"), bob.trade_ids("b-1")) == ({"7"}, {"7"})


def test_discarding_a_run_removes_its_trades_too(storage: Storage):
    kept = storage.ledger("acct", 10_000.0, run_id="r1")
    kept.record_order(_order("r1-buy"))
    kept.record_trade("1", _fill(0.1, 2, "r1-buy"), done=True)
    rolled_back = storage.ledger("acct", 10_000.0, run_id="r2")
    rolled_back.record_order(_order("r2-buy"))
    rolled_back.record_trade("2", _fill(0.2, 3, "r2-buy"))

    assert rolled_back.discard_run("r2") == 2
    assert [f.client_order_id for f in rolled_back.fills()] == ["r1-buy"]
    assert rolled_back.portfolio.quantity("BTC/USDT") == pytest.approx(0.1)
