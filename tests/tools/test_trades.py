import pytest

from core.types import Fill, Side
from tools.trades import RoundTrips


def _fill(side: Side, qty: float, price: float, ts: int, fee: float = 0.0) -> Fill:
    return Fill(
        client_order_id=f"o{ts}",
        symbol="BTC/USDT",
        side=side,
        quantity=qty,
        price=price,
        fee=fee,
        ts=ts,
    )


def test_round_trip_closes_with_fees_in_its_pnl():
    trips = RoundTrips()

    assert trips.on_fill(_fill(Side.BUY, 1.0, 100.0, 1, fee=0.1)) is None
    assert trips.on_fill(_fill(Side.SELL, 0.5, 110.0, 2, fee=0.05)) is None
    closed = trips.on_fill(_fill(Side.SELL, 0.5, 90.0, 3, fee=0.05))

    assert closed is not None
    assert closed.pnl == pytest.approx(-100 - 0.1 + 55 - 0.05 + 45 - 0.05)
    assert (closed.opened_ms, closed.closed_ms) == (1, 3)


def test_next_buy_after_a_close_opens_a_new_trade():
    trips = RoundTrips()
    trips.on_fill(_fill(Side.BUY, 1.0, 100.0, 1))
    trips.on_fill(_fill(Side.SELL, 1.0, 120.0, 2))

    trips.on_fill(_fill(Side.BUY, 1.0, 100.0, 3))
    closed = trips.on_fill(_fill(Side.SELL, 1.0, 101.0, 4))

    assert closed.pnl == pytest.approx(1.0)
    assert closed.opened_ms == 3
