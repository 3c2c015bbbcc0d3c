import pytest

from core.types import Order, OrderType, Portfolio, Position, RiskLimits, Side, TradingState
from tools.compliance import ExecutedOrder, count_violations, order_violations


def _record(
    side=Side.BUY,
    qty=10.0,
    stop=98.0,
    state=TradingState.ACTIVE,
    flatten=False,
    held=0.0,
    confidence=0.9,
    limits=None,
):
    positions = (
        {"BTC/USDT": Position(symbol="BTC/USDT", quantity=held, avg_price=100.0)} if held else {}
    )
    return ExecutedOrder(
        order=Order(
            client_order_id="o1",
            symbol="BTC/USDT",
            side=side,
            type=OrderType.MARKET,
            quantity=qty,
            reference_price=100.0,
            stop_price=stop,
            created_ms=0,
        ),
        flatten=flatten,
        confidence=confidence,
        portfolio=Portfolio(cash=10_000.0, positions=positions),
        marks={"BTC/USDT": 100.0},
        state=state,
        limits=limits or RiskLimits(),
    )


def test_order_inside_every_limit_has_no_violation():
    assert order_violations(_record(qty=10.0, stop=99.0)) == []


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        (_record(qty=60.0, stop=99.9), "position"),
        (_record(qty=10.0, stop=80.0), "risk at stop"),
        (_record(stop=None), "without a stop-loss"),
        (_record(state=TradingState.REDUCING, stop=99.0), "buy while REDUCING"),
        (_record(confidence=0.1, stop=99.0), "confidence"),
        (_record(side=Side.SELL, qty=5.0, stop=None, held=1.0), "short or double exit"),
        (_record(flatten=True, stop=99.0), "flatten order that buys"),
        (
            _record(side=Side.SELL, qty=1.0, stop=None, held=1.0, state=TradingState.HALTED),
            "while HALTED",
        ),
    ],
)
def test_each_broken_limit_is_found(record, fragment):
    assert any(fragment in v for v in order_violations(record))


def test_flatten_sell_while_halted_is_allowed():
    record = _record(
        side=Side.SELL, qty=1.0, stop=None, held=1.0, flatten=True, state=TradingState.HALTED
    )

    assert order_violations(record) == []


def test_count_reports_orders_not_problems():
    count, described = count_violations([_record(stop=None, confidence=0.0), _record(stop=99.0)])

    assert count == 1
    assert described[0].startswith("o1: ")
