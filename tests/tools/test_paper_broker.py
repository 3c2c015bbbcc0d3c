import pytest

from core.types import Approved, Order, OrderType, Side
from risk.approval import UnapprovedOrderError, mint
from tests.support import HOUR_MS, T0, candle
from tools.execution.paper import PaperBroker


def _order(side=Side.BUY, qty=1.0, created=T0, coid="o-1"):
    return Order(
        client_order_id=coid,
        symbol="SYN/USDT",
        side=side,
        type=OrderType.MARKET,
        quantity=qty,
        reference_price=100.0,
        stop_price=90.0 if side is Side.BUY else None,
        created_ms=created,
    )


@pytest.fixture
def broker(storage):
    ledger = storage.ledger("run-1", initial_cash=1_000.0)
    yield PaperBroker(ledger, fee_rate=0.001, slippage_bps=10)
    ledger.close()


def test_market_buy_fills_at_next_open_with_slippage_and_fee(broker):
    broker.submit(mint(_order()))

    fills = broker.on_candle("SYN/USDT", candle(T0, 100.0))

    assert len(fills) == 1
    assert fills[0].price == pytest.approx(100.0 * 1.001)
    assert fills[0].fee == pytest.approx(100.1 * 0.001)
    assert broker.portfolio.cash == pytest.approx(1_000 - 100.1 - 0.1001)
    assert broker.portfolio.positions["SYN/USDT"].stop_loss == 90.0


def test_order_never_fills_in_a_candle_that_opened_before_it(broker):
    broker.submit(mint(_order(created=T0 + HOUR_MS)))

    assert broker.on_candle("SYN/USDT", candle(T0, 100.0)) == []
    assert len(broker.on_candle("SYN/USDT", candle(T0 + HOUR_MS, 100.0))) == 1


def test_forged_approval_is_refused_and_nothing_is_recorded(broker):
    forged = Approved(order=_order(), signature="0" * 64)

    with pytest.raises(UnapprovedOrderError):
        broker.submit(forged)

    assert broker.pending() == []


def test_resubmitting_the_same_order_does_not_duplicate_it(broker):
    approved = mint(_order())

    broker.submit(approved)
    broker.submit(approved)
    fills = broker.on_candle("SYN/USDT", candle(T0, 100.0))

    assert len(fills) == 1


def test_fills_survive_a_restart_of_the_ledger(storage):
    ledger = storage.ledger("run-1", initial_cash=1_000.0)
    broker = PaperBroker(ledger, fee_rate=0.0, slippage_bps=0)
    broker.submit(mint(_order()))
    broker.on_candle("SYN/USDT", candle(T0, 100.0))
    ledger.close()

    reopened = storage.ledger("run-1", initial_cash=1_000.0)

    assert reopened.portfolio.quantity("SYN/USDT") == pytest.approx(1.0)
    assert reopened.portfolio.cash == pytest.approx(900.0)
    assert reopened.pending_orders() == []
    reopened.close()


def test_sell_closes_the_position_at_next_open(broker):
    broker.submit(mint(_order()))
    broker.on_candle("SYN/USDT", candle(T0, 100.0))
    broker.submit(mint(_order(side=Side.SELL, created=T0 + HOUR_MS, coid="o-2")))

    fills = broker.on_candle("SYN/USDT", candle(T0 + HOUR_MS, 110.0))

    assert fills[0].price == pytest.approx(110.0 * 0.999)
    assert "SYN/USDT" not in broker.portfolio.positions


def test_cancelling_pending_orders_leaves_nothing_to_fill(broker):
    broker.submit(mint(_order()))

    cancelled = broker.cancel_pending()

    assert [o.client_order_id for o in cancelled] == ["o-1"]
    assert broker.on_candle("SYN/USDT", candle(T0, 100.0)) == []


def test_resting_stop_sells_the_position_when_a_candle_reaches_it(broker):
    broker.submit(mint(_order()))
    broker.on_candle("SYN/USDT", candle(T0, 100.0))

    fills = broker.on_candle("SYN/USDT", candle(T0 + HOUR_MS, 89.0))

    assert [f.side for f in fills] == [Side.SELL]
    assert fills[0].price == pytest.approx(89.0 * 0.999)  # gapped below the 90 stop: the open
    assert "SYN/USDT" not in broker.portfolio.positions


def test_stop_survives_a_restart_of_the_ledger(storage):
    ledger = storage.ledger("run-1", initial_cash=1_000.0)
    PaperBroker(ledger, fee_rate=0.0, slippage_bps=0).submit(mint(_order()))
    PaperBroker(ledger, fee_rate=0.0, slippage_bps=0).on_candle("SYN/USDT", candle(T0, 100.0))
    ledger.close()

    reopened = storage.ledger("run-1", initial_cash=1_000.0)

    assert reopened.portfolio.positions["SYN/USDT"].stop_loss == 90.0
    reopened.close()


def test_unfilled_limit_order_is_cancelled_after_one_candle(broker):
    order = _order().model_copy(update={"type": OrderType.LIMIT, "limit_price": 95.0})
    broker.submit(mint(order))

    assert broker.on_candle("SYN/USDT", candle(T0, 100.0)) == []
    assert broker.pending() == []


def test_a_fill_never_overwrites_a_cancellation(storage):
    ledger = storage.ledger("run-1", initial_cash=1_000.0)
    broker = PaperBroker(ledger, fee_rate=0.0, slippage_bps=0)
    broker.submit(mint(_order()))
    ledger.cancel("o-1")

    assert broker.on_candle("SYN/USDT", candle(T0, 100.0)) == []
    assert ledger.fills() == []
    ledger.close()


def test_cancelling_buys_keeps_pending_exits(broker):
    broker.submit(mint(_order()))
    broker.on_candle("SYN/USDT", candle(T0, 100.0))
    broker.submit(mint(_order(side=Side.SELL, created=T0 + HOUR_MS, coid="o-2")))
    broker.submit(mint(_order(created=T0 + HOUR_MS, coid="o-3")))

    cancelled = broker.cancel_pending(Side.BUY)

    assert [o.client_order_id for o in cancelled] == ["o-3"]
    assert [o.client_order_id for o in broker.pending()] == ["o-2"]


def test_two_runs_sharing_a_ledger_file_each_get_their_stop_filled(storage):
    """Stop exits are named per run: a second replay of the same candles in the same data
    directory must not have its stop taken for the first run's."""
    stops = []
    for run_id in ("run-1", "run-2"):
        ledger = storage.ledger(run_id, initial_cash=1_000.0)
        broker = PaperBroker(ledger, fee_rate=0.0, slippage_bps=0)
        broker.submit(mint(_order(coid=f"{run_id}-buy")))
        broker.on_candle("SYN/USDT", candle(T0, 100.0))

        stops.append(broker.on_candle("SYN/USDT", candle(T0 + HOUR_MS, 89.0)))
        ledger.close()

    assert [[f.side for f in fills] for fills in stops] == [[Side.SELL], [Side.SELL]]
