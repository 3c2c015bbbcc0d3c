"""The fill model: prices, fees and quantities every fill of the project is made with."""

import numpy as np
import pytest

from core.types import Side
from tools.fills import (
    affordable_quantity,
    buy_cost_factor,
    fee,
    limit_fill_price,
    market_fill_price,
    sell_proceeds_factor,
    stop_fill_price,
    stop_triggered,
)


def test_market_orders_fill_at_the_open_moved_against_the_trader():
    bought = market_fill_price(100.0, Side.BUY, 10.0)
    sold = market_fill_price(100.0, Side.SELL, 10.0)

    assert bought == pytest.approx(100.1)
    assert sold == pytest.approx(99.9)


def test_market_fill_price_applies_to_a_whole_array_of_opens():
    opens = np.array([100.0, 200.0, 50.0])

    prices = market_fill_price(opens, Side.BUY, 5.0)

    assert prices.tolist() == [market_fill_price(float(o), Side.BUY, 5.0) for o in opens]


def test_a_stop_sells_at_the_stop_with_slippage_when_the_candle_opens_above_it():
    assert stop_fill_price(90.0, 95.0, 10.0) == pytest.approx(90.0 * 0.999)


def test_a_stop_sells_at_the_open_when_the_candle_gapped_below_it():
    assert stop_fill_price(90.0, 85.0, 10.0) == pytest.approx(85.0 * 0.999)


def test_a_stop_is_triggered_only_when_the_low_reaches_it():
    assert stop_triggered(90.0, low=90.0)
    assert not stop_triggered(90.0, low=90.01)


def test_a_buy_limit_fills_at_the_better_of_limit_and_open_when_traded_through():
    assert limit_fill_price(Side.BUY, 95.0, open_=100.0, high=101.0, low=94.0) == 95.0
    assert limit_fill_price(Side.BUY, 95.0, open_=93.0, high=96.0, low=92.0) == 93.0


def test_a_limit_the_candle_never_reached_does_not_fill():
    assert limit_fill_price(Side.BUY, 95.0, open_=100.0, high=101.0, low=96.0) is None
    assert limit_fill_price(Side.SELL, 105.0, open_=100.0, high=104.0, low=99.0) is None


def test_a_sell_limit_fills_at_the_better_of_limit_and_open():
    assert limit_fill_price(Side.SELL, 105.0, open_=100.0, high=106.0, low=99.0) == 105.0
    assert limit_fill_price(Side.SELL, 105.0, open_=107.0, high=108.0, low=104.0) == 107.0


def test_the_fee_is_the_rate_on_the_notional():
    assert fee(2_000.0, 0.001) == pytest.approx(2.0)


def test_an_affordable_buy_with_its_fee_never_costs_more_than_the_cash():
    cash, price, rate = 1_000.0, 100.1, 0.001

    quantity = affordable_quantity(cash, price, rate)

    assert quantity * price + fee(quantity * price, rate) <= cash
    assert (quantity + 1e-8) * price * (1 + rate) > cash  # one more satoshi would not fit


def test_an_affordable_quantity_is_rounded_down_to_8_decimals():
    quantity = affordable_quantity(1.0, 3.0, 0.0)

    assert quantity == 0.33333333
    assert round(quantity, 8) == quantity


def test_no_cash_affords_nothing():
    assert affordable_quantity(0.0, 100.0, 0.001) == 0.0
    assert affordable_quantity(-5.0, 100.0, 0.001) == 0.0


def test_a_round_trip_at_one_price_loses_the_fee_both_ways():
    rate = 0.001

    kept = sell_proceeds_factor(100.0, rate) / buy_cost_factor(100.0, rate)

    assert kept == pytest.approx((1 - rate) / (1 + rate))
