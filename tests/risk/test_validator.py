"""The risk validator: every refusal code, and a case just inside every limit approved."""

from __future__ import annotations

import pytest

from core.types import Approved, Denied, Hold, OrderType, Proposal, RiskLimits, Side, TradingState
from risk.approval import verify
from tests.risk.builders import (
    INF,
    NAN,
    NOW,
    SYMBOL,
    approved,
    buy,
    codes,
    market,
    portfolio,
    run,
    sell,
)

# --- approvals and sizing --------------------------------------------------------------------


def test_hold_proposal_gives_hold() -> None:
    verdict = run(Proposal.hold(SYMBOL, "nothing to do"))

    assert verdict == Hold()


def test_hold_gives_hold_even_when_halted() -> None:
    verdict = run(Proposal.hold(SYMBOL, "wait"), state=TradingState.HALTED)

    assert isinstance(verdict, Hold)


def test_buy_within_limits_is_approved_with_the_order_it_describes() -> None:
    verdict = run(buy(size=0.1, stop_loss=95.0, take_profit=110.0))

    order = approved(verdict).order
    assert order.client_order_id == "tg-test-1"
    assert (order.symbol, order.side, order.type) == (SYMBOL, Side.BUY, OrderType.MARKET)
    assert order.quantity == 10.0  # 0.1 * 10_000 equity / 100
    assert order.reference_price == 100.0
    assert order.limit_price is None
    assert order.stop_price == 95.0
    assert order.created_ms == NOW
    assert verify(approved(verdict)) == order


def test_buy_quantity_is_rounded_down_to_8_decimals() -> None:
    verdict = run(buy(size=0.1), snapshot=market(price=3.0))

    assert approved(verdict).order.quantity == 333.33333333


def test_sell_quantity_is_the_fraction_of_the_holding() -> None:
    verdict = run(sell(size=0.5), book=portfolio(cash=0.0, BTC=(0.3, 90.0)))

    order = approved(verdict).order
    assert order.side is Side.SELL
    assert order.quantity == 0.15


def test_equity_marks_the_traded_symbol_at_the_reference_price() -> None:
    # 2 BTC bought at 50, now 100: equity = 1_000 + 200 = 1_200, so 0.2 buys 2.4 BTC.
    verdict = run(buy(size=0.2), book=portfolio(cash=1_000.0, BTC=(2.0, 50.0)))

    assert approved(verdict).order.quantity == 2.4


def test_same_inputs_give_the_same_verdict() -> None:
    first = run(buy(size=0.1))
    second = run(buy(size=0.1))

    assert first == second


# --- trading state ---------------------------------------------------------------------------


def test_halted_denies_a_buy() -> None:
    assert "HALTED" in codes(run(buy(), state=TradingState.HALTED))


def test_halted_denies_a_reducing_sell() -> None:
    book = portfolio(BTC=(1.0, 100.0))

    assert "HALTED" in codes(run(sell(size=0.5), book=book, state=TradingState.HALTED))


def test_reducing_denies_a_buy() -> None:
    assert codes(run(buy(), state=TradingState.REDUCING)) == {"REDUCING_ONLY"}


def test_reducing_allows_a_sell_that_reduces_a_held_position() -> None:
    book = portfolio(BTC=(1.0, 100.0))

    verdict = run(sell(size=1.0), book=book, state=TradingState.REDUCING)

    assert approved(verdict).order.quantity == 1.0


def test_reducing_denies_a_sell_with_nothing_held() -> None:
    verdict = run(sell(), state=TradingState.REDUCING)

    assert codes(verdict) >= {"REDUCING_ONLY", "SHORT_NOT_ALLOWED"}


# --- data and symbol -------------------------------------------------------------------------


def test_stale_data_denies_a_market_order() -> None:
    verdict = run(buy(), snapshot=market(issues=("stale",)))

    assert codes(verdict) == {"STALE_DATA"}


def test_stale_data_still_allows_a_limit_order() -> None:
    proposal = buy(order_type=OrderType.LIMIT, limit_price=99.0)

    verdict = run(proposal, snapshot=market(issues=("stale",)))

    assert approved(verdict).order.limit_price == 99.0


def test_symbol_other_than_the_market_is_unknown() -> None:
    verdict = run(buy(symbol="ETH/USDT"))

    assert codes(verdict) == {"UNKNOWN_SYMBOL"}


def test_symbol_outside_allowed_symbols_is_unknown() -> None:
    limits = RiskLimits(allowed_symbols=("ETH/USDT",))

    verdict = run(buy(), limits=limits)

    assert codes(verdict) == {"UNKNOWN_SYMBOL"}


def test_symbol_in_allowed_symbols_is_approved() -> None:
    limits = RiskLimits(allowed_symbols=("ETH/USDT", SYMBOL))

    assert isinstance(run(buy(), limits=limits), Approved)


# --- quantity --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0.0, -0.1, NAN, INF, -INF, 1e-14])
def test_size_that_gives_no_finite_positive_quantity_is_invalid(size: float) -> None:
    assert "INVALID_QUANTITY" in codes(run(buy(size=size)))


def test_huge_size_is_denied() -> None:
    verdict = run(buy(size=1e300))

    assert codes(verdict) >= {"MAX_NOTIONAL_EXCEEDED", "MAX_POSITION_EXCEEDED"}


def test_overflowing_size_is_an_invalid_quantity() -> None:
    verdict = run(buy(size=1e308), book=portfolio(cash=1e10))

    assert "INVALID_QUANTITY" in codes(verdict)


def test_sell_of_nan_fraction_is_an_invalid_quantity() -> None:
    verdict = run(sell(size=NAN), book=portfolio(BTC=(1.0, 100.0)))

    assert codes(verdict) == {"INVALID_QUANTITY"}


# --- prices ----------------------------------------------------------------------------------


@pytest.mark.parametrize("price", [0.0, -5.0, NAN, INF])
def test_reference_price_not_finite_positive_is_invalid(price: float) -> None:
    assert "INVALID_PRICE" in codes(run(buy(), snapshot=market(price=price)))


@pytest.mark.parametrize("limit_price", [None, 0.0, -1.0, NAN, INF])
def test_limit_order_without_a_finite_positive_price_is_invalid(limit_price: float | None) -> None:
    verdict = run(buy(order_type=OrderType.LIMIT, limit_price=limit_price))

    assert codes(verdict) == {"INVALID_PRICE"}


@pytest.mark.parametrize("limit_price", [110.0, 90.0])
def test_limit_price_at_the_edge_of_the_band_is_approved(limit_price: float) -> None:
    verdict = run(buy(size=0.1, order_type=OrderType.LIMIT, limit_price=limit_price))

    order = approved(verdict).order
    assert order.type is OrderType.LIMIT
    assert order.limit_price == limit_price


@pytest.mark.parametrize("limit_price", [110.01, 89.99])
def test_limit_price_outside_the_band_is_invalid(limit_price: float) -> None:
    verdict = run(buy(order_type=OrderType.LIMIT, limit_price=limit_price))

    assert codes(verdict) == {"INVALID_PRICE"}
    assert "band=10%" in verdict.refusals[0].detail  # type: ignore[union-attr]


def test_limit_buy_notional_counts_at_the_limit_price() -> None:
    limits = RiskLimits(max_order_notional=1_000.0)

    verdict = run(buy(size=0.1, order_type=OrderType.LIMIT, limit_price=101.0), limits=limits)

    assert codes(verdict) == {"MAX_NOTIONAL_EXCEEDED"}


def test_market_order_ignores_a_stray_limit_price() -> None:
    verdict = run(buy(limit_price=500.0))

    assert approved(verdict).order.limit_price is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stop_loss", 100.0),
        ("stop_loss", 101.0),
        ("take_profit", 100.0),
        ("take_profit", 99.0),
        ("stop_loss", NAN),
        ("stop_loss", -1.0),
        ("take_profit", INF),
        ("take_profit", 0.0),
    ],
)
def test_buy_stop_and_target_must_be_positive_and_on_the_right_side(
    field: str, value: float
) -> None:
    verdict = run(buy(**{field: value}))

    assert codes(verdict) == {"INVALID_PRICE"}


def test_sell_stop_must_be_finite_and_positive() -> None:
    verdict = run(sell(stop_loss=NAN), book=portfolio(BTC=(1.0, 100.0)))

    assert codes(verdict) == {"INVALID_PRICE"}


# --- confidence ------------------------------------------------------------------------------


def test_buy_below_minimum_confidence_is_denied() -> None:
    verdict = run(buy(confidence=0.59))

    assert codes(verdict) == {"LOW_CONFIDENCE"}
    assert verdict.refusals[0].detail == "confidence=0.59 minimum=0.60"  # type: ignore[union-attr]


def test_buy_at_minimum_confidence_is_approved() -> None:
    assert isinstance(run(buy(confidence=0.6)), Approved)


def test_sell_with_low_confidence_is_approved() -> None:
    verdict = run(sell(confidence=0.1), book=portfolio(BTC=(1.0, 100.0)))

    assert isinstance(verdict, Approved)


@pytest.mark.parametrize("confidence", [NAN, INF, -0.1, 1.5])
def test_confidence_outside_zero_to_one_is_denied(confidence: float) -> None:
    assert codes(run(buy(confidence=confidence))) == {"LOW_CONFIDENCE"}


def test_sell_with_nan_confidence_is_denied() -> None:
    verdict = run(sell(confidence=NAN), book=portfolio(BTC=(1.0, 100.0)))

    assert codes(verdict) == {"LOW_CONFIDENCE"}


# --- notional, position, cash, long-only ---------------------------------------------------


def test_notional_above_the_limit_is_denied_with_the_numbers() -> None:
    limits = RiskLimits(max_order_notional=1_000.0)

    verdict = run(buy(size=0.12), limits=limits)

    assert isinstance(verdict, Denied)
    assert verdict.codes == ("MAX_NOTIONAL_EXCEEDED",)
    assert verdict.refusals[0].detail == "notional=1200.00 limit=1000.00"


def test_notional_at_the_limit_is_approved() -> None:
    limits = RiskLimits(max_order_notional=1_000.0)

    verdict = run(buy(size=0.1), limits=limits)

    assert approved(verdict).order.notional == 1_000.0


def test_exit_above_the_notional_cap_is_still_approved() -> None:
    limits = RiskLimits(max_order_notional=1_000.0)

    verdict = run(sell(size=1.0), book=portfolio(BTC=(20.0, 100.0)), limits=limits)

    assert approved(verdict).order.notional == 2_000.0


def test_buy_beyond_the_position_share_of_equity_is_denied() -> None:
    book = portfolio(cash=8_000.0, BTC=(20.0, 100.0))  # equity 10_000, BTC worth 2_000

    verdict = run(buy(size=0.31), book=book)

    assert codes(verdict) == {"MAX_POSITION_EXCEEDED"}


def test_buy_up_to_the_position_share_of_equity_is_approved() -> None:
    book = portfolio(cash=8_000.0, BTC=(20.0, 100.0))

    verdict = run(buy(size=0.3), book=book)  # 2_000 + 3_000 = 50% of 10_000

    assert approved(verdict).order.quantity == 30.0


def test_buy_beyond_spendable_cash_is_denied() -> None:
    # Equity 10_000 but only 1_000 cash; 995 spendable after the 0.5% fee reserve.
    book = portfolio(cash=1_000.0, ETH=(90.0, 100.0))
    limits = RiskLimits(max_position_fraction=1.0)

    verdict = run(buy(size=0.1), book=book, limits=limits)

    assert codes(verdict) == {"INSUFFICIENT_BALANCE"}
    assert "spendable=995.00" in verdict.refusals[0].detail  # type: ignore[union-attr]


def test_buy_just_within_spendable_cash_is_approved() -> None:
    book = portfolio(cash=1_000.0, ETH=(90.0, 100.0))
    limits = RiskLimits(max_position_fraction=1.0)

    verdict = run(buy(size=0.0995), book=book, limits=limits)

    assert approved(verdict).order.notional <= 995.0


def test_sell_more_than_held_is_a_short() -> None:
    verdict = run(sell(size=1.5), book=portfolio(BTC=(1.0, 100.0)))

    assert codes(verdict) == {"SHORT_NOT_ALLOWED"}


def test_sell_with_nothing_held_is_a_short() -> None:
    assert "SHORT_NOT_ALLOWED" in codes(run(sell(size=0.5)))


def test_sell_of_everything_held_is_approved() -> None:
    verdict = run(sell(size=1.0), book=portfolio(BTC=(0.12345678, 100.0)))

    assert approved(verdict).order.quantity == 0.12345678


def test_every_applicable_refusal_is_collected() -> None:
    limits = RiskLimits(max_order_notional=100.0)
    proposal = buy(size=0.9, confidence=0.1, stop_loss=120.0)

    verdict = run(proposal, snapshot=market(issues=("stale",)), limits=limits)

    assert codes(verdict) == {
        "STALE_DATA",
        "INVALID_PRICE",
        "LOW_CONFIDENCE",
        "MAX_NOTIONAL_EXCEEDED",
        "MAX_POSITION_EXCEEDED",
    }
