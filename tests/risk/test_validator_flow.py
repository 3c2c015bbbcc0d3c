"""The order flow: the rate throttle, the duplicate guard, and what open orders reserve."""

from __future__ import annotations

import pytest

from core.types import Approved, RiskLimits, Side
from tests.risk.builders import (
    buy,
    codes,
    context,
    detail,
    limit_buy,
    open_order,
    portfolio,
    quantity,
    recent,
    run,
    sell,
)

HELD = portfolio(cash=9_900.0, BTC=(1.0, 100.0))

# --- throttle --------------------------------------------------------------------------------


def test_orders_in_the_last_minute_at_the_limit_throttle_the_next() -> None:
    orders = tuple(recent(age_seconds=59.0, quantity=0.5) for _ in range(10))

    verdict = run(buy(), ctx=context(recent_orders=orders))

    assert codes(verdict) == {"RATE_LIMITED"}
    assert detail(verdict, "RATE_LIMITED") == "orders_last_minute=10 limit=10"


def test_orders_older_than_a_minute_do_not_count_for_the_minute() -> None:
    orders = tuple(recent(age_seconds=60.0, quantity=0.5) for _ in range(10))

    assert isinstance(run(buy(), ctx=context(recent_orders=orders)), Approved)


def test_orders_of_every_symbol_and_side_count() -> None:
    orders = (
        recent(1.0, symbol="ETH/USDT"),
        recent(2.0, side=Side.SELL),
        recent(3.0, symbol="SOL/USDT", side=Side.SELL),
    )

    verdict = run(
        buy(), limits=RiskLimits(max_orders_per_minute=3), ctx=context(recent_orders=orders)
    )

    assert codes(verdict) == {"RATE_LIMITED"}


def test_orders_in_the_last_day_at_the_limit_throttle_the_next() -> None:
    limits = RiskLimits(max_orders_per_minute=1, max_orders_per_day=3)
    orders = tuple(recent(age_seconds=3_600.0 * hours, quantity=0.5) for hours in (1, 12, 23.9))

    verdict = run(buy(), limits=limits, ctx=context(recent_orders=orders))

    assert codes(verdict) == {"RATE_LIMITED"}
    assert detail(verdict, "RATE_LIMITED") == "orders_last_day=3 limit=3"


def test_orders_older_than_a_day_do_not_count() -> None:
    limits = RiskLimits(max_orders_per_minute=1, max_orders_per_day=3)
    orders = tuple(recent(age_seconds=86_400.0 + i, quantity=0.5) for i in range(5))

    assert isinstance(run(buy(), limits=limits, ctx=context(recent_orders=orders)), Approved)


def test_orders_stamped_in_the_future_count_as_recent() -> None:
    orders = tuple(recent(age_seconds=-5.0, quantity=0.5) for _ in range(10))

    assert codes(run(buy(), ctx=context(recent_orders=orders))) == {"RATE_LIMITED"}


def test_throttle_applies_to_exits_too() -> None:
    orders = tuple(recent(age_seconds=1.0, quantity=0.5) for _ in range(10))

    verdict = run(sell(), book=HELD, ctx=context(recent_orders=orders))

    assert codes(verdict) == {"RATE_LIMITED"}


# --- duplicates ------------------------------------------------------------------------------


def test_same_order_within_the_window_is_a_duplicate() -> None:
    verdict = run(buy(), ctx=context(recent_orders=(recent(30.0, quantity=10.0),)))

    assert codes(verdict) == {"DUPLICATE_ORDER"}
    assert (
        detail(verdict, "DUPLICATE_ORDER")
        == "buy 10.00000000 BTC/USDT sent 30.0s ago; window=60.0s"
    )


@pytest.mark.parametrize("other", [10.0 * (1 + 1e-10), 10.0 * (1 - 1e-10)])
def test_quantity_within_a_billionth_is_the_same(other: float) -> None:
    verdict = run(buy(), ctx=context(recent_orders=(recent(30.0, quantity=other),)))

    assert codes(verdict) == {"DUPLICATE_ORDER"}


@pytest.mark.parametrize(
    "order",
    [
        recent(30.0, quantity=10.001),
        recent(30.0, quantity=10.0, side=Side.SELL),
        recent(30.0, quantity=10.0, symbol="ETH/USDT"),
        recent(61.0, quantity=10.0),
    ],
    ids=["other quantity", "other side", "other symbol", "outside the window"],
)
def test_a_different_or_older_order_is_not_a_duplicate(order: object) -> None:
    assert isinstance(run(buy(), ctx=context(recent_orders=(order,))), Approved)


def test_duplicate_window_comes_from_the_limits() -> None:
    ctx = context(recent_orders=(recent(90.0, quantity=10.0),))

    verdict = run(buy(), limits=RiskLimits(duplicate_window_seconds=120.0), ctx=ctx)

    assert codes(verdict) == {"DUPLICATE_ORDER"}


def test_duplicate_window_of_zero_disables_the_guard() -> None:
    ctx = context(recent_orders=(recent(0.0, quantity=10.0),))

    assert isinstance(
        run(buy(), limits=RiskLimits(duplicate_window_seconds=0.0), ctx=ctx), Approved
    )


def test_duplicate_compares_the_resized_quantity() -> None:
    # Asked 30, resized to 20 by the risk cap: a recent 20 is the same order.
    ctx = context(recent_orders=(recent(10.0, quantity=20.0),))

    assert codes(run(buy(size=0.3, stop_loss=95.0), ctx=ctx)) == {"DUPLICATE_ORDER"}


def test_duplicate_guard_applies_to_exits_too() -> None:
    ctx = context(recent_orders=(recent(10.0, quantity=1.0, side=Side.SELL),))

    assert codes(run(sell(), book=HELD, ctx=ctx)) == {"DUPLICATE_ORDER"}


# --- open orders -----------------------------------------------------------------------------


def test_open_buys_reserve_cash_at_their_limit_price() -> None:
    # 90 units at a 100 limit reserve 9_000: 1_000 free, 995 spendable. (The position limit
    # is lifted here: the 90 units in flight count toward it too.)
    ctx = context(open_orders=(open_order(Side.BUY, 90.0, price=101.0, limit_price=100.0),))
    limits = RiskLimits(max_position_fraction=1.0)

    too_much = run(buy(size=0.0996), ctx=ctx, limits=limits)
    just_fits = run(buy(size=0.0995), ctx=ctx, limits=limits)

    assert codes(too_much) == {"INSUFFICIENT_BALANCE"}
    assert "reserved=9000.00" in detail(too_much, "INSUFFICIENT_BALANCE")
    assert quantity(just_fits) == 9.95


def test_open_buys_of_other_symbols_reserve_the_same_cash() -> None:
    ctx = context(open_orders=(open_order(Side.BUY, 90.0, price=100.0, symbol="ETH/USDT"),))

    assert codes(run(buy(size=0.1), ctx=ctx)) == {"INSUFFICIENT_BALANCE"}


def test_open_sells_do_not_reserve_cash() -> None:
    ctx = context(open_orders=(open_order(Side.SELL, 1.0),))

    assert isinstance(run(buy(), book=HELD, ctx=ctx), Approved)


def test_open_sells_reserve_the_holding() -> None:
    ctx = context(open_orders=(open_order(Side.SELL, 0.6),))

    too_much = run(sell(size=0.5), book=HELD, ctx=ctx)
    just_fits = run(sell(size=0.4), book=HELD, ctx=ctx)

    assert codes(too_much) == {"INSUFFICIENT_BALANCE"}
    assert quantity(just_fits) == 0.4


def test_open_sells_of_another_symbol_do_not_reserve_this_one() -> None:
    ctx = context(open_orders=(open_order(Side.SELL, 1.0, symbol="ETH/USDT"),))

    assert quantity(run(sell(), book=HELD, ctx=ctx)) == 1.0


def test_limit_buy_counts_its_own_limit_price_against_free_cash() -> None:
    book = portfolio(cash=1_000.0, ETH=(90.0, 100.0))
    limits = RiskLimits(max_position_fraction=1.0)

    verdict = run(limit_buy(101.0, size=0.0986), book=book, limits=limits)

    # 9.86 units cost 986 at the reference price but 995.86 at the limit: over 995 spendable.
    assert codes(verdict) == {"INSUFFICIENT_BALANCE"}


def test_pending_buys_count_toward_the_position_limit() -> None:
    limits = RiskLimits(risk_per_trade=1.0)
    first = run(buy(size=0.3), limits=limits)
    assert isinstance(first, Approved)

    second = run(buy(size=0.3), limits=limits, ctx=context(open_orders=(first.order,)))

    assert "MAX_POSITION_EXCEEDED" in codes(second)


def test_the_same_buy_without_one_in_flight_is_approved() -> None:
    limits = RiskLimits(risk_per_trade=1.0)

    assert isinstance(run(buy(size=0.3), limits=limits), Approved)
