"""`flatten`: the reduce-only exit the circuit breakers use, in any trading state."""

from __future__ import annotations

import pytest

from core.types import (
    Denied,
    Hold,
    OrderType,
    Portfolio,
    Position,
    RiskContext,
    Side,
    Verdict,
)
from risk import validator
from risk.approval import verify
from risk.validator import flatten
from tests.risk.builders import (
    INF,
    NAN,
    NOW,
    SYMBOL,
    approved,
    codes,
    context,
    market,
    open_order,
    portfolio,
    recent,
    with_rules,
)


def close(
    book: Portfolio,
    *,
    issues: tuple[str, ...] = (),
    price: float = 100.0,
    ctx: RiskContext | None = None,
    symbol: str = SYMBOL,
) -> Verdict:
    return flatten(
        book,
        market(price=price, issues=issues),
        symbol,
        NOW,
        client_order_id="tg-flatten-1",
        context=ctx if ctx is not None else RiskContext(),
    )


def test_flatten_sells_everything_held_at_market() -> None:
    verdict = close(portfolio(cash=0.0, BTC=(0.12345678, 90.0)))

    order = verify(approved(verdict))
    assert (order.symbol, order.side, order.type) == (SYMBOL, Side.SELL, OrderType.MARKET)
    assert order.quantity == 0.12345678
    assert order.reference_price == 100.0
    assert (order.limit_price, order.stop_price) == (None, None)
    assert order.created_ms == NOW


def test_flatten_works_on_stale_data() -> None:
    verdict = close(portfolio(BTC=(1.0, 100.0)), issues=("stale", "gap"))

    assert approved(verdict).order.quantity == 1.0


def test_flatten_ignores_the_throttle_and_the_duplicate_guard() -> None:
    orders = tuple(recent(age_seconds=1.0, side=Side.SELL, quantity=1.0) for _ in range(50))

    verdict = close(portfolio(BTC=(1.0, 100.0)), ctx=context(recent_orders=orders))

    assert approved(verdict).order.quantity == 1.0


def test_flatten_with_nothing_held_is_a_hold() -> None:
    assert close(portfolio(ETH=(1.0, 100.0))) == Hold()


@pytest.mark.parametrize("held", [0.0, -1.0, 1e-9])
def test_flatten_of_nothing_sellable_is_a_hold(held: float) -> None:
    assert isinstance(close(portfolio(BTC=(held, 100.0))), Hold)


def test_flatten_rounds_down_never_more_than_held() -> None:
    verdict = close(portfolio(BTC=(1.23456789123, 100.0)), ctx=with_rules(amount_step=0.001))

    assert approved(verdict).order.quantity == 1.234


def test_flatten_leaves_what_open_sells_already_reserve() -> None:
    ctx = context(open_orders=(open_order(Side.SELL, 0.25), open_order(Side.BUY, 5.0)))

    verdict = close(portfolio(BTC=(1.0, 100.0)), ctx=ctx)

    assert approved(verdict).order.quantity == 0.75


def test_flatten_when_open_sells_cover_the_holding_is_a_hold() -> None:
    ctx = context(open_orders=(open_order(Side.SELL, 1.0),))

    assert isinstance(close(portfolio(BTC=(1.0, 100.0)), ctx=ctx), Hold)


def test_flatten_of_dust_below_the_exchange_minimum_is_refused() -> None:
    verdict = close(portfolio(BTC=(0.0005, 100.0)), ctx=with_rules(min_amount=0.001))

    assert codes(verdict) == {"BELOW_MIN_AMOUNT"}


def test_flatten_below_the_minimum_notional_is_refused() -> None:
    verdict = close(portfolio(BTC=(0.04, 100.0)), ctx=with_rules(min_notional=5.0))

    assert codes(verdict) == {"BELOW_MIN_NOTIONAL"}


def test_flatten_of_another_symbol_than_the_market_is_refused() -> None:
    verdict = close(portfolio(ETH=(1.0, 100.0)), symbol="ETH/USDT")

    assert codes(verdict) == {"UNKNOWN_SYMBOL"}


@pytest.mark.parametrize("price", [0.0, NAN, INF])
def test_flatten_without_a_usable_price_is_refused(price: float) -> None:
    assert codes(close(portfolio(BTC=(1.0, 100.0)), price=price)) == {"INVALID_PRICE"}


def test_flatten_is_not_blocked_by_a_corrupt_position_in_another_symbol() -> None:
    book = Portfolio(
        cash=0.0,
        positions={
            SYMBOL: Position(symbol=SYMBOL, quantity=1.0, avg_price=100.0),
            "ETH/USDT": Position.model_construct(symbol="ETH/USDT", quantity=NAN, avg_price=NAN),
        },
    )

    assert approved(close(book)).order.quantity == 1.0


@pytest.mark.parametrize("quantity", [NAN, INF])
def test_flatten_of_a_corrupt_holding_fails_closed(quantity: float) -> None:
    book = Portfolio(
        cash=0.0,
        positions={
            SYMBOL: Position.model_construct(symbol=SYMBOL, quantity=quantity, avg_price=1.0)
        },
    )

    assert codes(close(book)) == {"INTERNAL_ERROR"}


def test_flatten_with_an_empty_client_order_id_fails_closed() -> None:
    verdict = flatten(portfolio(BTC=(1.0, 100.0)), market(), SYMBOL, NOW, client_order_id="")

    assert codes(verdict) == {"INTERNAL_ERROR"}


def test_flatten_that_would_sell_more_than_held_is_caught_before_minting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(validator, "round_down", lambda quantity, step=None: quantity * 2)

    verdict = close(portfolio(BTC=(1.0, 100.0)))

    assert isinstance(verdict, Denied)
    assert verdict.codes == ("INTERNAL_ERROR",)
    assert "reduce-only" in verdict.refusals[0].detail
