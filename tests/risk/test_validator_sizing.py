"""Size caps resize a BUY down (exact quantities), never up, in the documented order; exchange
rules round quantities down and prices to the tick.

Defaults (builders): equity 10_000 in cash, BTC at 100, stop at 98, risk per trade 1%.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.types import Approved, InstrumentRules, RiskLimits
from risk.sizing import exact_round_down, round_down, round_to_tick
from tests.risk.builders import (
    approved,
    buy,
    codes,
    context,
    detail,
    limit_buy,
    market,
    portfolio,
    quantity,
    run,
    sell,
    with_rules,
)

# --- risk per trade --------------------------------------------------------------------------


def test_risk_per_trade_resizes_a_buy_down_to_the_loss_budget() -> None:
    # 5 lost per unit at the stop, 1% of 10_000 = 100 to lose: 20 units, not the 30 asked.
    verdict = run(buy(size=0.3, stop_loss=95.0))

    assert quantity(verdict) == 20.0


def test_risk_per_trade_leaves_a_buy_within_budget_alone() -> None:
    assert quantity(run(buy(size=0.15, stop_loss=95.0))) == 15.0


def test_risk_per_trade_counts_from_the_worse_of_reference_and_limit_price() -> None:
    # Entry may be 102 (the limit), so 4 per unit is at risk: 25 units.
    verdict = run(limit_buy(102.0, size=0.3, stop_loss=98.0))

    assert quantity(verdict) == 25.0


def test_risk_per_trade_comes_from_the_limits() -> None:
    verdict = run(buy(size=0.3, stop_loss=95.0), limits=RiskLimits(risk_per_trade=0.005))

    assert quantity(verdict) == 10.0


def test_risk_cap_that_leaves_nothing_names_itself() -> None:
    verdict = run(buy(size=0.3, stop_loss=95.0), ctx=with_rules(min_amount=25.0))

    assert codes(verdict) == {"RISK_PER_TRADE_EXCEEDED"}
    assert detail(verdict, "RISK_PER_TRADE_EXCEEDED").startswith(
        "requested=30.00000000 capped=20.00000000 by risk_per_trade"
    )


# --- volatility target -----------------------------------------------------------------------


def test_volatility_target_caps_the_position_value_after_the_buy() -> None:
    # 10_000 x 0.2 / 0.5 = 4_000 of BTC at most; 10 held, so 30 more, not the 45 asked.
    book = portfolio(cash=9_000.0, BTC=(10.0, 100.0))
    limits = RiskLimits(volatility_target=0.2)

    verdict = run(buy(size=0.45), book=book, limits=limits, ctx=context(volatility=0.5))

    assert quantity(verdict) == 30.0


@pytest.mark.parametrize("volatility", [None, 0.0])
def test_volatility_target_needs_a_positive_volatility(volatility: float | None) -> None:
    limits = RiskLimits(volatility_target=0.2)

    verdict = run(buy(size=0.45), limits=limits, ctx=context(volatility=volatility))

    assert quantity(verdict) == 45.0


def test_volatility_cap_with_the_position_already_at_target_refuses() -> None:
    book = portfolio(cash=6_000.0, BTC=(40.0, 100.0))
    limits = RiskLimits(volatility_target=0.2)

    verdict = run(buy(size=0.05), book=book, limits=limits, ctx=context(volatility=0.5))

    assert codes(verdict) == {"VOLATILITY_CAP"}


# --- fractional Kelly ------------------------------------------------------------------------


def test_kelly_caps_the_notional_to_the_fraction_of_the_edge() -> None:
    # b = (104 - 100) / (100 - 98) = 2; edge = 0.8 - 0.2 / 2 = 0.7; half Kelly = 35% = 35 units.
    limits = RiskLimits(kelly_fraction=0.5)

    verdict = run(buy(size=0.45, confidence=0.8, take_profit=104.0), limits=limits)

    assert quantity(verdict) == 35.0


def test_kelly_does_not_apply_without_a_take_profit() -> None:
    verdict = run(buy(size=0.45, confidence=0.8), limits=RiskLimits(kelly_fraction=0.5))

    assert quantity(verdict) == 45.0


def test_kelly_without_an_edge_refuses() -> None:
    limits = RiskLimits(kelly_fraction=1.0, min_confidence=0.0)

    verdict = run(buy(confidence=0.3, take_profit=104.0), limits=limits)

    assert codes(verdict) == {"KELLY_CAP"}


# --- staged drawdown -------------------------------------------------------------------------


def test_drawdown_multiplier_scales_a_buy() -> None:
    assert quantity(run(buy(size=0.2), multiplier=0.5)) == 10.0


def test_drawdown_multiplier_scales_what_the_risk_budget_allows() -> None:
    # Risk allows 20 of the 30 asked; the drawdown stage then halves that.
    verdict = run(buy(size=0.3, stop_loss=95.0), multiplier=0.5)

    assert quantity(verdict) == 10.0


def test_drawdown_multiplier_does_not_touch_a_sell() -> None:
    verdict = run(sell(size=1.0), book=portfolio(BTC=(4.0, 100.0)), multiplier=0.5)

    assert quantity(verdict) == 4.0


def test_drawdown_multiplier_of_zero_refuses_every_buy() -> None:
    assert codes(run(buy(), multiplier=0.0)) == {"DRAWDOWN_SIZE_CAP"}


# --- correlation cap -------------------------------------------------------------------------


CORRELATED_BOOK = portfolio(cash=8_000.0, ETH=(20.0, 100.0))


def test_correlation_cap_leaves_room_for_what_correlated_holdings_use() -> None:
    # 50% of 10_000 for BTC and ETH together; ETH uses 2_000, so 30 BTC, not the 40 asked.
    ctx = context(correlations={"ETH/USDT": 0.9})

    verdict = run(buy(size=0.4), book=CORRELATED_BOOK, ctx=ctx)

    assert quantity(verdict) == 30.0


@pytest.mark.parametrize("correlation", [0.79, -0.95, 0.0])
def test_correlation_below_the_threshold_does_not_cap(correlation: float) -> None:
    ctx = context(correlations={"ETH/USDT": correlation})

    verdict = run(buy(size=0.4), book=CORRELATED_BOOK, ctx=ctx)

    assert quantity(verdict) == 40.0


def test_correlation_cap_adds_up_every_correlated_holding_at_its_mark() -> None:
    # ETH 10 marked at 150 + SOL 10 at 100 = 2_500; equity 7_500 + 2_500 = 10_000: 25 BTC.
    book = portfolio(cash=7_500.0, ETH=(10.0, 100.0), SOL=(10.0, 100.0))
    ctx = context(correlations={"ETH/USDT": 0.9, "SOL/USDT": 0.8}, marks={"ETH/USDT": 150.0})

    verdict = run(buy(size=0.4), book=book, ctx=ctx)

    assert quantity(verdict) == 25.0


def test_correlation_cap_applies_after_the_drawdown_stage() -> None:
    ctx = context(correlations={"ETH/USDT": 0.9})

    halved = run(buy(size=0.4), book=CORRELATED_BOOK, ctx=ctx, multiplier=0.5)
    capped = run(buy(size=0.4), book=CORRELATED_BOOK, ctx=ctx, multiplier=0.9)

    assert quantity(halved) == 20.0  # 40 x 0.5, under the cap of 30
    assert quantity(capped) == 30.0  # 40 x 0.9 = 36, cut to 30


def test_correlated_holdings_already_above_the_cap_refuse() -> None:
    book = portfolio(cash=4_000.0, ETH=(60.0, 100.0))
    ctx = context(correlations={"ETH/USDT": 0.9})

    verdict = run(buy(size=0.05), book=book, ctx=ctx)

    assert codes(verdict) == {"CORRELATION_CAP"}


# --- never up --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0.001, 0.05, 0.2, 0.45])
def test_every_cap_together_never_sizes_up(size: float) -> None:
    limits = RiskLimits(volatility_target=5.0, kelly_fraction=1.0)
    ctx = context(volatility=0.1, correlations={"ETH/USDT": 0.9})
    book = portfolio(cash=9_000.0, ETH=(10.0, 100.0))

    verdict = run(buy(size=size, take_profit=110.0), book=book, limits=limits, ctx=ctx)

    assert quantity(verdict) <= round(size * 10_000.0 / 100.0, 8)


# --- exchange rules --------------------------------------------------------------------------


def test_quantity_is_rounded_down_to_the_amount_step() -> None:
    verdict = run(
        buy(size=0.1, stop_loss=2.9), snapshot=market(price=3.0), ctx=with_rules(amount_step=0.5)
    )

    assert quantity(verdict) == 333.0


def test_sell_quantity_is_rounded_down_to_the_amount_step() -> None:
    book = portfolio(BTC=(1.23456, 100.0))

    verdict = run(sell(size=1.0), book=book, ctx=with_rules(amount_step=0.001))

    assert quantity(verdict) == 1.234


def test_quantity_that_rounds_to_nothing_at_the_step_is_below_the_minimum() -> None:
    verdict = run(buy(size=0.001), ctx=with_rules(amount_step=1.0))  # 0.1 units

    assert codes(verdict) == {"BELOW_MIN_AMOUNT"}


@pytest.mark.parametrize(
    ("limit_price", "tick", "expected"),
    [(99.74, 0.5, 99.5), (99.76, 0.5, 100.0), (100.125, 0.01, 100.12), (101.0, 0.25, 101.0)],
)
def test_limit_price_is_rounded_to_the_nearest_tick(
    limit_price: float, tick: float, expected: float
) -> None:
    verdict = run(limit_buy(limit_price, stop_loss=95.0), ctx=with_rules(price_tick=tick))

    assert approved(verdict).order.limit_price == expected


def test_stop_is_rounded_to_the_tick_before_the_risk_cap_looks_at_it() -> None:
    # 90.2 rounds to 90.0: 10 at risk per unit, so 10 units (100 / 9.8 = 10.2 unrounded).
    verdict = run(buy(size=0.2, stop_loss=90.2), ctx=with_rules(price_tick=0.5))

    order = approved(verdict).order
    assert (order.stop_price, order.quantity) == (90.0, 10.0)


def test_collar_looks_at_the_rounded_price() -> None:
    inside = run(limit_buy(110.2, stop_loss=95.0), ctx=with_rules(price_tick=0.5))
    outside = run(limit_buy(110.3, stop_loss=95.0), ctx=with_rules(price_tick=0.5))

    assert approved(inside).order.limit_price == 110.0
    assert codes(outside) == {"PRICE_OUTSIDE_COLLAR"}


def test_rules_without_a_field_do_not_apply_it() -> None:
    verdict = run(buy(), ctx=context(rules=InstrumentRules()))

    assert isinstance(verdict, Approved)


# --- rounding helpers ------------------------------------------------------------------------

steps = st.sampled_from([None, 1e-8, 1e-6, 1e-4, 0.001, 0.01, 0.05, 0.1, 0.25, 1.0, 10.0, 1e-9])
quantities = st.one_of(
    st.floats(min_value=1e-12, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.integers(1, 10**9).map(lambda n: n / 10**4),
    st.decimals(min_value=0, max_value=10**7, places=8).map(float),
)


@pytest.mark.slow
@settings(max_examples=2_000, deadline=None, derandomize=True)
@given(quantity=quantities, step=steps)
def test_round_down_is_exact_never_up_and_on_the_grid(quantity: float, step: float | None) -> None:
    if not quantity > 0:
        return

    rounded = round_down(quantity, step)

    assert rounded == exact_round_down(quantity, step)
    assert rounded <= quantity
    value = Decimal(repr(rounded))
    assert value == value.quantize(Decimal("1e-8")) or rounded == 0.0
    if step is not None:
        assert value % Decimal(repr(step)) == 0


def test_round_down_keeps_a_quantity_already_on_the_grid() -> None:
    assert (round_down(0.29), round_down(0.3, 0.1), round_down(10.512, 1e-4)) == (0.29, 0.3, 10.512)


def test_round_to_tick_goes_to_the_nearest_tick() -> None:
    assert (round_to_tick(99.995, 0.01), round_to_tick(0.3, 0.1), round_to_tick(7.0, None)) == (
        100.0,
        0.3,
        7.0,
    )
