"""Exchange trades in the ledger: several per order, each counted once, kept across reopening."""

from __future__ import annotations

import pytest

from core.ledger import Ledger
from core.types import Fill, Order, OrderType, Side


def _order() -> Order:
    return Order(
        client_order_id="tg-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=0.3,
        reference_price=29000.0,
        limit_price=29000.0,
        created_ms=1,
    )


def _fill(quantity: float, ts: int) -> Fill:
    return Fill(
        client_order_id="tg-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=quantity,
        price=29000.0,
        fee=0.0,
        ts=ts,
    )


def test_trades_of_one_order_accumulate_once_each_and_survive_a_reopen(tmp_path):
    ledger = Ledger(tmp_path / "l.db", "acct", 10_000.0)
    ledger.record_order(_order())
    assert ledger.record_trade("7", _fill(0.1, 2))
    assert not ledger.record_trade("7", _fill(0.1, 2))  # polled again: not counted twice
    assert ledger.record_trade("8", _fill(0.2, 3), done=True)
    assert ledger.portfolio.quantity("BTC/USDT") == pytest.approx(0.3)
    assert ledger.status("tg-1") == ("filled", "")
    assert ledger.trade_ids("tg-1") == {"7", "8"}
    ledger.close()
    reopened = Ledger(tmp_path / "l.db", "acct", 10_000.0)
    assert reopened.portfolio.cash == pytest.approx(10_000.0 - 0.3 * 29000.0)
    assert [f.quantity for f in reopened.fills()] == [0.1, 0.2]


def test_a_trade_of_an_unknown_order_is_refused(tmp_path):
    ledger = Ledger(tmp_path / "l.db", "acct", 10_000.0)
    with pytest.raises(KeyError):
        ledger.record_trade("1", _fill(0.1, 2))
    assert ledger.fills() == []


def test_a_rejected_order_keeps_its_reason(tmp_path):
    ledger = Ledger(tmp_path / "l.db", "acct", 10_000.0)
    ledger.record_order(_order())
    ledger.reject("tg-1", "insufficient funds")
    assert ledger.status("tg-1") == ("rejected", "insufficient funds")
    assert ledger.pending_orders() == []
