"""Stops and reconciliation of the exchange broker, against the fake Binance (real ccxt)."""

from __future__ import annotations

import pytest

from core.ledger import Ledger
from core.types import Fill, Order, OrderType, Side
from risk.approval import mint
from tests.fake_exchange.server import FaultKind
from tests.support import T0, candle
from tests.tools.test_ccxt_broker import BTC, FAST, _order
from tools.execution.ccxt_broker import CcxtBroker
from tools.execution.exchange_calls import ExchangeUnreachableError
from tools.execution.reconcile import EXTERNAL, reconcile


@pytest.fixture
def ledger(tmp_path):
    opened = Ledger(tmp_path / "ledger.sqlite", "acct", initial_cash=10_000.0)
    yield opened
    opened.close()


def _broker(fake_binance, ledger, events=None, *, native_stops=True, retry=FAST):
    exchange = fake_binance.ccxt(timeout=300)
    if not native_stops:
        exchange.has["createStopLossOrder"] = False
    sink = None if events is None else events.append
    return CcxtBroker(exchange, ledger, retry=retry, on_event=sink)


def test_a_filled_entry_rests_its_stop_on_the_exchange_and_the_trigger_is_recorded(
    fake_binance, ledger
):
    broker = _broker(fake_binance, ledger)
    broker.submit(mint(_order(qty=0.01, stop=28000.0)))
    stop = fake_binance.order("tg-1-sl")
    assert (stop.type, stop.stop_price, stop.status) == ("STOP_LOSS_LIMIT", 28000, "NEW")
    assert broker.pending() == []  # the broker's own stop is not an open order to the validator

    fake_binance.set_price(BTC, "27900")
    (exit_fill,) = broker.on_candle(BTC, candle(T0, 27900.0))

    assert (exit_fill.client_order_id, exit_fill.side) == ("tg-1-sl", Side.SELL)
    assert broker.portfolio.quantity(BTC) == pytest.approx(0.0)


def test_a_sell_cancels_the_resting_stop_first_so_the_amount_is_free(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    broker.submit(mint(_order(qty=0.01, stop=28000.0)))
    held = broker.portfolio.quantity(BTC)

    broker.submit(mint(_order(coid="tg-2", side=Side.SELL, qty=held)))

    assert fake_binance.order("tg-1-sl").status == "CANCELED"
    assert ledger.status("tg-2") == ("filled", "")
    assert broker.portfolio.quantity(BTC) == pytest.approx(0.0, abs=1e-9)


def test_without_native_stops_the_broker_holds_the_stop_and_sells_when_a_candle_reaches_it(
    fake_binance, ledger
):
    broker = _broker(fake_binance, ledger, native_stops=False)
    broker.submit(mint(_order(qty=0.01, stop=28000.0)))
    assert fake_binance.client_order_ids() == ["tg-1"]
    assert broker.on_candle(BTC, candle(T0, 29000.0)) == []

    fake_binance.set_price(BTC, "27950")
    (exit_fill,) = broker.on_candle(BTC, candle(T0 + 60_000, 27950.0))

    assert exit_fill.side is Side.SELL and exit_fill.client_order_id.endswith("-sx")
    assert broker.portfolio.quantity(BTC) == pytest.approx(0.0, abs=1e-9)


def test_reconcile_records_fills_made_while_away_and_rejects_orders_never_received(
    fake_binance, ledger
):
    broker = _broker(fake_binance, ledger)
    broker.submit(mint(_order(limit=29000.0, qty=0.1)))
    fake_binance.fill("tg-1", fraction="0.5")
    never_sent = _order(coid="tg-9", limit=29000.0, qty=0.1)
    ledger.record_order(never_sent)  # recorded, then the process died before sending it

    events = reconcile(broker, [BTC], T0)

    assert {e.kind for e in events} == {"order_settled", "order_not_found"}
    assert len(ledger.fills()) == 1 and ledger.status("tg-9")[0] == "rejected"
    assert [o.client_order_id for o in broker.pending()] == ["tg-1"]  # half filled, still open


def test_reconcile_adopts_an_order_placed_by_hand_and_marks_it_external(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    by_hand = fake_binance.ccxt(timeout=300)
    by_hand.create_order(BTC, "market", "buy", 0.002, None, {"clientOrderId": "manual-1"})

    (event,) = reconcile(broker, [BTC], T0)

    assert event.kind == "order_adopted" and "manual-1" in event.detail
    assert ledger.status("manual-1") == ("filled", EXTERNAL)
    assert broker.portfolio.quantity(BTC) == pytest.approx(0.002 - 0.000002)


def test_reconcile_closes_a_position_the_exchange_no_longer_holds(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    ghost = Order(
        client_order_id="tg-old",
        symbol="ETH/USDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        quantity=1.0,
        reference_price=2000.0,
        created_ms=T0,
    )
    ledger.record_order(ghost)
    ledger.record_fill(
        Fill(
            client_order_id="tg-old",
            symbol="ETH/USDT",
            side=Side.BUY,
            quantity=1.0,
            price=2000.0,
            fee=0.0,
            ts=T0,
        )
    )
    fake_binance.set_price("ETH/USDT", "2100")

    (event,) = reconcile(broker, ["ETH/USDT"], T0 + 1)

    assert event.kind == "position_closed" and "the exchange 0" in event.detail
    assert broker.portfolio.quantity("ETH/USDT") == 0.0
    assert broker.portfolio.cash == pytest.approx(10_000.0 - 2000.0 + 2100.0)


def test_after_a_lost_answer_nothing_is_sent_before_the_order_is_resolved(fake_binance, ledger):
    events = []
    quick = type(FAST)(initial_s=0.01, max_s=0.02, deadline_s=0.5)
    broker = _broker(fake_binance, ledger, events, retry=quick)
    for _ in range(40):  # every retry within the deadline times out
        fake_binance.fail_next(FaultKind.TIMEOUT, method="POST", path="/api/v3/order")
    with pytest.raises(ExchangeUnreachableError):
        broker.submit(mint(_order(limit=29000.0, qty=0.1)))
    fake_binance.faults.clear()
    requests_before = len(fake_binance.requests)

    broker.submit(mint(_order(coid="tg-2", limit=29000.0, qty=0.1)))

    later = fake_binance.requests[requests_before:]
    first_post = next(i for i, r in enumerate(later) if r.method == "POST")
    assert any(r.path == "/api/v3/allOrders" for r in later[:first_post])  # reconciled first
    assert ledger.status("tg-1")[0] in ("rejected", "pending")
