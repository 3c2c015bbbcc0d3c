"""The risk validator fails closed: corrupt inputs and internal errors deny, never raise."""

from __future__ import annotations

from typing import Any

import pytest

from core.types import Approved, BreakerSnapshot, Denied, Portfolio, RiskLimits
from risk import checks, validator
from risk.validator import validate
from tests.risk.builders import INF, NAN, NOW, buy, codes, market, portfolio, run


def test_unknown_trading_state_is_an_internal_error() -> None:
    breakers = BreakerSnapshot.model_construct(state="PANIC", reasons=())  # type: ignore[arg-type]

    verdict = validate(
        buy(), portfolio(), market(), RiskLimits(), breakers, NOW, client_order_id="x"
    )

    assert codes(verdict) == {"INTERNAL_ERROR"}


def test_positions_that_are_not_a_dict_are_an_internal_error() -> None:
    book = Portfolio.model_construct(cash=10_000.0, positions=["BTC"], quote_currency="USDT")  # type: ignore[arg-type]

    verdict = run(buy(), book=book)

    assert codes(verdict) == {"INTERNAL_ERROR"}
    assert "positions" in verdict.refusals[0].detail  # type: ignore[union-attr]


@pytest.mark.parametrize("cash", [NAN, INF])
def test_non_finite_cash_is_an_internal_error(cash: float) -> None:
    assert codes(run(buy(), book=portfolio(cash=cash))) == {"INTERNAL_ERROR"}


def test_non_finite_position_price_is_an_internal_error() -> None:
    assert codes(run(buy(), book=portfolio(ETH=(1.0, NAN)))) == {"INTERNAL_ERROR"}


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
    ],
)
def test_garbage_typed_proposal_is_an_internal_error(fields: dict[str, Any]) -> None:
    assert codes(run(buy(**fields))) == {"INTERNAL_ERROR"}


def test_empty_client_order_id_is_an_internal_error() -> None:
    verdict = validate(
        buy(), portfolio(), market(), RiskLimits(), BreakerSnapshot(), NOW, client_order_id=""
    )

    assert codes(verdict) == {"INTERNAL_ERROR"}


def test_exception_inside_a_check_becomes_an_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(draft: object) -> list[object]:
        raise ZeroDivisionError("boom\nsecond line")

    monkeypatch.setattr(checks, "CHECKS", (*checks.CHECKS, explode))

    verdict = run(buy())

    assert isinstance(verdict, Denied)
    assert verdict.codes == ("INTERNAL_ERROR",)
    assert verdict.refusals[0].detail == "ZeroDivisionError: boom second line"


def test_exception_while_minting_becomes_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_mint(order: object) -> Approved:
        raise RuntimeError("key store gone")

    monkeypatch.setattr(validator, "mint", broken_mint)

    assert codes(run(buy())) == {"INTERNAL_ERROR"}


def test_a_check_that_wrongly_passes_is_caught_before_minting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checks, "CHECKS", ())  # every check "passes"
    limits = RiskLimits(max_order_notional=100.0)

    verdict = run(buy(size=0.5), limits=limits)

    assert codes(verdict) == {"INTERNAL_ERROR"}
    assert "notional" in verdict.refusals[0].detail  # type: ignore[union-attr]
