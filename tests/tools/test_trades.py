import pytest

from core.types import Fill, Side
from tools.trades import RoundTrips, closed_trades


def _fill(side: Side, qty: float, price: float, ts: int, fee: float = 0.0, symbol="BTC/USDT"):
    return Fill(
        client_order_id=f"o{ts}",
        symbol=symbol,
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


def test_closed_trade_has_average_prices_fees_duration_and_its_fills():
    trips = RoundTrips()
    trips.on_fill(_fill(Side.BUY, 1.0, 100.0, 1_000, fee=0.1))
    trips.on_fill(_fill(Side.BUY, 3.0, 104.0, 2_000, fee=0.312))
    trips.on_fill(_fill(Side.SELL, 2.0, 110.0, 3_000, fee=0.22))

    closed = trips.on_fill(_fill(Side.SELL, 2.0, 106.0, 5_000, fee=0.212))

    assert closed.quantity == pytest.approx(4.0)
    assert closed.entry_price == pytest.approx((100.0 + 312.0) / 4)
    assert closed.exit_price == pytest.approx((220.0 + 212.0) / 4)
    assert (closed.entry_fees, closed.exit_fees) == pytest.approx((0.412, 0.432))
    assert closed.fees == pytest.approx(0.844)
    assert closed.entry_cost == pytest.approx(412.412)
    assert closed.pnl == pytest.approx(432.0 - 412.0 - 0.844)
    assert closed.return_fraction == pytest.approx(closed.pnl / 412.412)
    assert closed.duration_ms == 4_000
    assert closed.order_ids == ("o1000", "o2000", "o3000", "o5000")


def test_symbols_are_tracked_apart():
    trips = RoundTrips()
    trips.on_fill(_fill(Side.BUY, 1.0, 100.0, 1, symbol="BTC/USDT"))
    trips.on_fill(_fill(Side.BUY, 2.0, 10.0, 2, symbol="ETH/USDT"))

    closed = trips.on_fill(_fill(Side.SELL, 2.0, 12.0, 3, symbol="ETH/USDT"))

    assert closed.symbol == "ETH/USDT" and closed.pnl == pytest.approx(4.0)
    assert trips.open_quantity("BTC/USDT") == pytest.approx(1.0)
    assert [t.symbol for t in trips.closed] == ["ETH/USDT"]


def test_a_sell_of_a_position_never_seen_bought_closes_no_trade():
    trips = RoundTrips()

    closed = trips.on_fill(_fill(Side.SELL, 1.0, 100.0, 1, fee=0.1))

    assert closed is None
    assert trips.closed == []


def test_a_sell_larger_than_the_tracked_position_counts_only_what_was_tracked():
    trips = RoundTrips()
    trips.on_fill(_fill(Side.BUY, 1.0, 100.0, 1, fee=0.1))

    closed = trips.on_fill(_fill(Side.SELL, 4.0, 110.0, 2, fee=0.44))

    assert closed.quantity == pytest.approx(1.0)
    assert closed.exit_fees == pytest.approx(0.11)
    assert closed.pnl == pytest.approx(110.0 - 0.11 - 100.0 - 0.1)


def test_continuing_closes_a_trade_opened_by_earlier_fills_with_its_whole_pnl():
    earlier = [
        _fill(Side.BUY, 1.0, 50.0, 1, fee=0.05),
        _fill(Side.SELL, 1.0, 60.0, 2, fee=0.06),
        _fill(Side.BUY, 2.0, 100.0, 3, fee=0.2),
    ]
    trips = RoundTrips.continuing(earlier)

    closed = trips.on_fill(_fill(Side.SELL, 2.0, 90.0, 4, fee=0.18))

    assert trips.closed == [closed]  # the trade closed earlier is history, not counted again
    assert closed.opened_ms == 3
    assert closed.pnl == pytest.approx(180.0 - 0.18 - 200.0 - 0.2)


def test_closed_trades_lists_the_round_trips_of_a_sequence_of_fills_in_closing_order():
    fills = [
        _fill(Side.BUY, 1.0, 100.0, 1, symbol="BTC/USDT"),
        _fill(Side.BUY, 1.0, 10.0, 2, symbol="ETH/USDT"),
        _fill(Side.SELL, 1.0, 11.0, 3, symbol="ETH/USDT"),
        _fill(Side.SELL, 1.0, 90.0, 4, symbol="BTC/USDT"),
        _fill(Side.BUY, 1.0, 95.0, 5, symbol="BTC/USDT"),
    ]

    trades = closed_trades(fills)

    assert [(t.symbol, t.pnl) for t in trades] == [
        ("ETH/USDT", pytest.approx(1.0)),
        ("BTC/USDT", pytest.approx(-10.0)),
    ]


def test_a_trade_still_open_is_marked_with_the_cash_it_moved_so_far():
    trips = RoundTrips()
    trips.on_fill(_fill(Side.BUY, 2.0, 100.0, 1, fee=0.2))
    trips.on_fill(_fill(Side.SELL, 1.0, 110.0, 2, fee=0.1))
    trips.on_fill(_fill(Side.BUY, 1.0, 50.0, 3, symbol="ETH/USDT"))
    trips.on_fill(_fill(Side.SELL, 1.0, 60.0, 4, symbol="ETH/USDT"))

    (left,) = trips.still_open()

    assert (left.symbol, left.opened_ms, left.quantity) == ("BTC/USDT", 1, 1.0)
    assert left.marked_pnl(120.0) == pytest.approx(-200.2 + 110.0 - 0.1 + 120.0)
