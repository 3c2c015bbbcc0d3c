"""Position reviews: the closed trade of the one trade model, with why it was opened and closed."""

import pytest

from core.types import Features, Fill, Order, OrderType, Side
from graphs.reviews import PositionReviews
from tests.support import HOUR_MS, T0, candle
from tools.trades import RoundTrips

SYMBOL = "SYN/USDT"
FEATURES = Features(ts=T0, close=100.0, ready=True, rsi_14=41.0)


def _order(coid: str, side: Side) -> Order:
    return Order(
        client_order_id=coid,
        symbol=SYMBOL,
        side=side,
        type=OrderType.MARKET,
        quantity=1.0,
        reference_price=100.0,
        created_ms=T0,
    )


def _fill(coid: str, side: Side, qty: float, price: float, ts: int) -> Fill:
    return Fill(
        client_order_id=coid,
        symbol=SYMBOL,
        side=side,
        quantity=qty,
        price=price,
        fee=qty * price * 0.001,
        ts=ts,
    )


def _sent(reviews: PositionReviews, coid: str, side: Side, thesis: str) -> None:
    reviews.on_order(
        _order(coid, side), trace_id=f"trace-{coid}", situation_id="m:1", features=FEATURES,
        thesis=thesis,
    )  # fmt: skip


def _feed(reviews: PositionReviews, trips: RoundTrips, fill: Fill, bars: int):
    return reviews.on_fill(fill, bars, trips.on_fill(fill))


def test_review_of_a_closed_position_is_the_closed_trade_with_its_reasons():
    reviews, trips = PositionReviews("1h"), RoundTrips()
    _sent(reviews, "buy-1", Side.BUY, "breakout above the range")
    _feed(reviews, trips, _fill("buy-1", Side.BUY, 1.0, 100.0, T0), bars=10)
    _feed(reviews, trips, _fill("buy-2", Side.BUY, 1.0, 104.0, T0 + HOUR_MS), bars=11)
    reviews.on_candle(candle(T0 + HOUR_MS, 97.0))  # its low is 97 * 0.999
    _sent(reviews, "sell-1", Side.SELL, "momentum faded")

    review = _feed(reviews, trips, _fill("sell-1", Side.SELL, 2.0, 106.0, T0 + 3 * HOUR_MS), 13)

    trade = trips.closed[0]
    assert review is not None
    assert (review.entry_price, review.exit_price) == (trade.entry_price, trade.exit_price)
    assert review.entry_price == pytest.approx(102.0)
    assert (review.pnl, review.pnl_fraction) == (trade.pnl, trade.return_fraction)
    assert review.order_ids == ("buy-1", "buy-2", "sell-1")
    assert (review.opened_ms, review.closed_ms) == (T0, T0 + 3 * HOUR_MS)
    assert review.candles_held == 3
    assert review.max_adverse == pytest.approx(97.0 * 0.999 / 102.0 - 1.0)
    assert review.entry_thesis == "breakout above the range"
    assert review.exit_reason == "momentum faded"
    assert review.entry_trace_id == "trace-buy-1"


def test_a_position_closed_by_the_resting_stop_says_so():
    reviews, trips = PositionReviews("1h"), RoundTrips()
    _sent(reviews, "buy-1", Side.BUY, "dip buy")
    _feed(reviews, trips, _fill("buy-1", Side.BUY, 1.0, 100.0, T0), bars=10)

    review = _feed(reviews, trips, _fill("stop-r-SYN-1", Side.SELL, 1.0, 90.0, T0 + HOUR_MS), 11)

    assert review is not None
    assert review.exit_reason.startswith("the resting stop-loss, filled at 90")
    assert review.pnl < 0


def test_a_partial_sell_leaves_the_position_open_and_unreviewed():
    reviews, trips = PositionReviews("1h"), RoundTrips()
    _sent(reviews, "buy-1", Side.BUY, "dip buy")
    _feed(reviews, trips, _fill("buy-1", Side.BUY, 2.0, 100.0, T0), bars=10)

    review = _feed(reviews, trips, _fill("sell-1", Side.SELL, 1.0, 101.0, T0 + HOUR_MS), 11)

    assert review is None
    assert trips.open_quantity(SYMBOL) == pytest.approx(1.0)


def test_a_position_opened_without_a_known_order_is_not_reviewed():
    reviews, trips = PositionReviews("1h"), RoundTrips()
    _feed(reviews, trips, _fill("unknown", Side.BUY, 1.0, 100.0, T0), bars=10)

    review = _feed(reviews, trips, _fill("sell-1", Side.SELL, 1.0, 110.0, T0 + HOUR_MS), 11)

    assert review is None
    assert len(trips.closed) == 1  # the trade still counts for the breaker and the reports
