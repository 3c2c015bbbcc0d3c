"""The risk validator fails closed: corrupt inputs and internal errors deny, never raise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from core.types import (
    Approved,
    BreakerSnapshot,
    Denied,
    InstrumentRules,
    Order,
    Portfolio,
    RecentOrder,
    Refusal,
    RiskContext,
    RiskLimits,
    Side,
)
from risk import checks, sizing, validator
from risk.draft import OrderDraft
from risk.validator import validate
from tests.risk.builders import (
    INF,
    NAN,
    NOW,
    buy,
    codes,
    context,
    market,
    open_order,
    portfolio,
    recent,
    run,
    sell,
)

HELD = portfolio(cash=9_900.0, BTC=(1.0, 100.0))


def internal_error(verdict: object) -> str:
    assert isinstance(verdict, Denied), verdict
    assert verdict.codes == ("INTERNAL_ERROR",)
    return verdict.refusals[0].detail


# --- an exception anywhere inside --------------------------------------------------------------


@pytest.mark.parametrize(
    "index", range(len(checks.CHECKS)), ids=[c.__name__ for c in checks.CHECKS]
)
@pytest.mark.parametrize("proposal", [buy(), sell()], ids=["buy", "sell"])
def test_exception_inside_any_check_becomes_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, index: int, proposal: Any
) -> None:
    def explode(draft: OrderDraft) -> Sequence[Refusal]:
        raise ZeroDivisionError("boom\nsecond line")

    patched = list(checks.CHECKS)
    patched[index] = explode
    monkeypatch.setattr(checks, "CHECKS", tuple(patched))

    verdict = run(proposal, book=HELD)

    assert internal_error(verdict) == "ZeroDivisionError: boom second line"


def test_exception_while_sizing_becomes_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> object:
        raise OverflowError("sizing")

    monkeypatch.setattr(validator, "size_buy", broken)

    assert "OverflowError" in internal_error(run(buy()))


def test_exception_while_minting_becomes_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_mint(order: object) -> Approved:
        raise RuntimeError("key store gone")

    monkeypatch.setattr(validator, "mint", broken_mint)

    assert internal_error(run(buy())) == "RuntimeError: key store gone"


# --- the last line of defence ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposal", "limits", "book", "failed"),
    [
        (buy(size=0.5), RiskLimits(max_order_notional=100.0), None, "notional"),
        (buy(stop_loss=None), RiskLimits(), None, "stop-loss"),
        (buy(size=0.9, stop_loss=99.0), RiskLimits(), None, "position fraction"),
        (buy(stop_loss=80.0), RiskLimits(), None, "stop price collar"),
        (sell(size=2.0), RiskLimits(), HELD, "long-only"),
    ],
)
def test_a_check_that_wrongly_passes_is_caught_before_minting(
    monkeypatch: pytest.MonkeyPatch,
    proposal: Any,
    limits: RiskLimits,
    book: Portfolio | None,
    failed: str,
) -> None:
    monkeypatch.setattr(checks, "CHECKS", ())  # every check "passes"

    verdict = run(proposal, book=book, limits=limits)

    assert failed in internal_error(verdict)


def test_a_cap_that_wrongly_sizes_up_is_caught_before_minting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = sizing.size_buy

    def generous(requested: float, terms: Any, step: float | None) -> sizing.Sizing:
        return real(requested, terms, step)._replace(quantity=requested * 1.5)

    monkeypatch.setattr(validator, "size_buy", generous)

    assert "never sized up" in internal_error(run(buy(size=0.1)))


# --- corrupt inputs ----------------------------------------------------------------------------


def junk_open_order(**fields: Any) -> Order:
    return Order.model_construct(**{**open_order(Side.BUY, 1.0).model_dump(), **fields})


def junk_recent(**fields: Any) -> RecentOrder:
    return RecentOrder.model_construct(**{**recent(10.0).model_dump(), **fields})


def test_unknown_trading_state_is_an_internal_error() -> None:
    breakers = BreakerSnapshot.model_construct(state="PANIC", reasons=())  # type: ignore[arg-type]

    verdict = validate(
        buy(), portfolio(), market(), RiskLimits(), breakers, NOW, client_order_id="x"
    )

    assert codes(verdict) == {"INTERNAL_ERROR"}


@pytest.mark.parametrize("multiplier", [NAN, 1.5, -0.1, INF])
def test_size_multiplier_outside_zero_to_one_is_an_internal_error(multiplier: float) -> None:
    assert codes(run(buy(), multiplier=multiplier)) == {"INTERNAL_ERROR"}


def test_positions_that_are_not_a_dict_are_an_internal_error() -> None:
    book = Portfolio.model_construct(cash=10_000.0, positions=["BTC"])  # type: ignore[arg-type]

    assert "positions" in internal_error(run(buy(), book=book))


@pytest.mark.parametrize("cash", [NAN, INF])
def test_non_finite_cash_is_an_internal_error(cash: float) -> None:
    assert codes(run(buy(), book=portfolio(cash=cash))) == {"INTERNAL_ERROR"}


@pytest.mark.parametrize("held", [(1.0, NAN), (NAN, 100.0), (INF, 100.0)])
def test_non_finite_position_is_an_internal_error(held: tuple[float, float]) -> None:
    assert codes(run(buy(), book=portfolio(ETH=held))) == {"INTERNAL_ERROR"}


@pytest.mark.parametrize(
    "fields",
    [
        {"size_fraction": "0.5"},
        {"size_fraction": None},
        {"size_fraction": True},
        {"confidence": "high"},
        {"action": "YOLO"},
        {"order_type": "stop"},
        {"symbol": 42},
        {"stop_loss": "95"},
        {"take_profit": [110.0]},
    ],
)
def test_garbage_typed_proposal_is_an_internal_error(fields: dict[str, Any]) -> None:
    assert codes(run(buy(**fields))) == {"INTERNAL_ERROR"}


def test_empty_client_order_id_is_an_internal_error() -> None:
    verdict = validate(
        buy(), portfolio(), market(), RiskLimits(), BreakerSnapshot(), NOW, client_order_id=""
    )

    assert codes(verdict) == {"INTERNAL_ERROR"}


@pytest.mark.parametrize(
    "changes",
    [
        {"max_order_notional": NAN},
        {"max_order_notional": INF},
        {"fee_reserve": -0.5},
        {"risk_per_trade": NAN},
        {"max_position_fraction": 2.0},
        {"correlation_threshold": NAN},
        {"duplicate_window_seconds": NAN},
        {"max_orders_per_minute": 10.5},
        {"volatility_target": -1.0},
        {"kelly_fraction": INF},
        {"allowed_symbols": ["BTC/USDT"]},
        {"require_stop_loss": "yes"},
    ],
)
def test_corrupt_limits_are_an_internal_error(changes: dict[str, Any]) -> None:
    limits = RiskLimits.model_construct(**{**RiskLimits().model_dump(), **changes})

    assert codes(run(buy(), limits=limits)) == {"INTERNAL_ERROR"}


@pytest.mark.parametrize(
    "ctx",
    [
        RiskContext.model_construct(marks={"ETH/USDT": NAN}),
        RiskContext.model_construct(marks={"ETH/USDT": -1.0}),
        RiskContext.model_construct(correlations={"ETH/USDT": 1.5}),
        RiskContext.model_construct(correlations={"ETH/USDT": NAN}),
        RiskContext.model_construct(volatility=-0.1),
        RiskContext.model_construct(volatility=NAN),
        RiskContext.model_construct(rules=InstrumentRules.model_construct(amount_step=-1.0)),
        RiskContext.model_construct(rules=InstrumentRules.model_construct(price_tick=NAN)),
        RiskContext.model_construct(rules="binance"),  # type: ignore[arg-type]
        RiskContext.model_construct(open_orders=(junk_open_order(quantity=NAN),)),
        RiskContext.model_construct(open_orders=["not an order"]),  # type: ignore[arg-type]
        RiskContext.model_construct(recent_orders=(junk_recent(created_ms="yesterday"),)),
        RiskContext.model_construct(recent_orders=(junk_recent(created_ms=float(NOW)),)),
        RiskContext.model_construct(recent_orders=(junk_recent(quantity=NAN),)),
    ],
    ids=[
        "nan mark",
        "negative mark",
        "correlation above 1",
        "nan correlation",
        "negative volatility",
        "nan volatility",
        "negative amount step",
        "nan price tick",
        "rules not rules",
        "open order nan quantity",
        "open order not an order",
        "recent order text time",
        "recent order float time",
        "recent order nan quantity",
    ],
)
def test_corrupt_context_is_an_internal_error(ctx: RiskContext) -> None:
    book = portfolio(cash=9_000.0, ETH=(10.0, 100.0))

    assert codes(run(buy(), book=book, ctx=ctx)) == {"INTERNAL_ERROR"}


def test_corrupt_context_fields_are_refused_when_built_normally() -> None:
    for fields in ({"marks": {"ETH/USDT": NAN}}, {"correlations": {"X/USDT": 2.0}}):
        with pytest.raises(ValueError, match="validation error"):
            context(**fields)
    with pytest.raises(ValueError, match="min_amount"):
        InstrumentRules(min_amount=2.0, max_amount=1.0)
    with pytest.raises(ValueError, match="validation error"):
        RiskLimits(max_order_notional=INF)


def test_unused_junk_in_the_context_does_not_matter() -> None:
    """A mark or correlation of a symbol that is not held plays no part in the verdict."""
    ctx = RiskContext.model_construct(
        marks={"DOGE/USDT": NAN}, correlations={"DOGE/USDT": NAN}, open_orders=(), recent_orders=()
    )

    verdict = run(buy(), ctx=ctx)

    assert isinstance(verdict, Approved)
    assert verdict.order.quantity == 10.0


def test_open_orders_and_recent_orders_that_are_fine_are_not_corruption() -> None:
    ctx = context(open_orders=(open_order(Side.BUY, 1.0),), recent_orders=(recent(3_600.0),))

    assert isinstance(run(buy(), ctx=ctx), Approved)
