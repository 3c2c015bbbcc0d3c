"""Every refusal code: one case just past its limit is refused with that code, and the same
case just inside the limit is approved. The table must cover every RefusalCode."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.types import (
    Approved,
    InstrumentRules,
    RefusalCode,
    RiskLimits,
    Side,
    TradingState,
    Verdict,
)
from tests.risk.builders import (
    NAN,
    SYMBOL,
    buy,
    codes,
    context,
    limit_buy,
    market,
    portfolio,
    recent,
    run,
    sell,
    with_rules,
)

Case = Callable[[], Verdict]

HALTED, REDUCING = TradingState.HALTED, TradingState.REDUCING
HELD = portfolio(cash=9_900.0, BTC=(1.0, 100.0))
EXPOSED = portfolio(cash=5_000.0, ETH=(25.0, 100.0), SOL=(25.0, 100.0))
TWO_HELD = portfolio(ETH=(1.0, 100.0), SOL=(1.0, 100.0))
CASH_POOR = portfolio(cash=1_000.0, ETH=(90.0, 100.0))
ALL_IN = RiskLimits(max_position_fraction=1.0)
TEN_UNITS = 10.0  # buy() asks for 0.1 x 10_000 / 100


def minute_of_orders(count: int) -> Case:
    orders = tuple(recent(age_seconds=5.0 * i) for i in range(count))
    return lambda: run(buy(), ctx=context(recent_orders=orders))


def correlated(eth: float) -> Case:
    """ETH held and correlated 0.9 with BTC; the cap lets BTC fill what ETH leaves of 50%."""
    book = portfolio(cash=8_000.0, ETH=(eth, 100.0))
    ctx = context(correlations={"ETH/USDT": 0.9}, rules=InstrumentRules(min_amount=30.0))
    return lambda: run(buy(size=0.5), book=book, ctx=ctx)


def kelly(confidence: float) -> Case:
    """Stop 98 and target 104: b = 2, so the Kelly edge is p - (1 - p) / 2, zero at p = 1/3."""
    limits = RiskLimits(kelly_fraction=1.0, min_confidence=0.0)
    proposal = buy(confidence=confidence, take_profit=104.0)
    return lambda: run(proposal, limits=limits)


def volatility(vol: float) -> Case:
    """Target 0.1 at volatility 1.0 allows a 1_000 position, 10 units: the exchange minimum."""
    limits = RiskLimits(volatility_target=0.1)
    ctx = context(volatility=vol, rules=InstrumentRules(min_amount=10.0))
    return lambda: run(buy(size=0.2), limits=limits, ctx=ctx)


def risk_per_trade(risk: float) -> Case:
    """Stop at 90: 10 at risk per unit; 1% of 10_000 allows exactly the 10-unit minimum."""
    ctx = with_rules(min_amount=10.0)
    return lambda: run(
        buy(size=0.2, stop_loss=90.0), limits=RiskLimits(risk_per_trade=risk), ctx=ctx
    )


def drawdown(multiplier: float) -> Case:
    return lambda: run(buy(), ctx=with_rules(min_amount=5.0), multiplier=multiplier)


CASES: dict[RefusalCode, tuple[Case, Case]] = {
    RefusalCode.HALTED: (lambda: run(buy(), state=HALTED), lambda: run(buy())),
    RefusalCode.REDUCING_ONLY: (
        lambda: run(buy(), book=HELD, state=REDUCING),
        lambda: run(sell(), book=HELD, state=REDUCING),
    ),
    RefusalCode.STALE_DATA: (
        lambda: run(buy(), snapshot=market(issues=("stale",))),
        lambda: run(limit_buy(99.0), snapshot=market(issues=("stale",))),
    ),
    RefusalCode.UNKNOWN_SYMBOL: (
        lambda: run(buy(), limits=RiskLimits(allowed_symbols=("ETH/USDT",))),
        lambda: run(buy(), limits=RiskLimits(allowed_symbols=("ETH/USDT", SYMBOL))),
    ),
    RefusalCode.INVALID_QUANTITY: (lambda: run(buy(size=1e-11)), lambda: run(buy(size=1e-9))),
    RefusalCode.INVALID_PRICE: (
        lambda: run(buy(stop_loss=100.0)),
        lambda: run(buy(stop_loss=99.99)),
    ),
    RefusalCode.MAX_NOTIONAL_EXCEEDED: (
        lambda: run(buy(size=0.1001), limits=RiskLimits(max_order_notional=1_000.0)),
        lambda: run(buy(size=0.1), limits=RiskLimits(max_order_notional=1_000.0)),
    ),
    RefusalCode.MAX_POSITION_EXCEEDED: (
        lambda: run(buy(size=0.31), book=portfolio(cash=8_000.0, BTC=(20.0, 100.0))),
        lambda: run(buy(size=0.3), book=portfolio(cash=8_000.0, BTC=(20.0, 100.0))),
    ),
    RefusalCode.INSUFFICIENT_BALANCE: (
        lambda: run(buy(size=0.0996), book=CASH_POOR, limits=ALL_IN),
        lambda: run(buy(size=0.0995), book=CASH_POOR, limits=ALL_IN),
    ),
    RefusalCode.SHORT_NOT_ALLOWED: (
        lambda: run(sell(size=1.01), book=HELD),
        lambda: run(sell(size=1.0), book=HELD),
    ),
    RefusalCode.LOW_CONFIDENCE: (
        lambda: run(buy(confidence=0.59)),
        lambda: run(buy(confidence=0.6)),
    ),
    RefusalCode.MAX_EXPOSURE_EXCEEDED: (
        lambda: run(buy(size=0.11), book=EXPOSED, limits=RiskLimits(max_gross_exposure=0.6)),
        lambda: run(buy(size=0.1), book=EXPOSED, limits=RiskLimits(max_gross_exposure=0.6)),
    ),
    RefusalCode.MAX_OPEN_POSITIONS: (
        lambda: run(buy(), book=TWO_HELD, limits=RiskLimits(max_open_positions=2)),
        lambda: run(buy(), book=TWO_HELD, limits=RiskLimits(max_open_positions=3)),
    ),
    RefusalCode.PRICE_OUTSIDE_COLLAR: (
        lambda: run(limit_buy(110.01)),
        lambda: run(limit_buy(110.0)),
    ),
    RefusalCode.BELOW_MIN_AMOUNT: (
        lambda: run(buy(), ctx=with_rules(min_amount=10.01)),
        lambda: run(buy(), ctx=with_rules(min_amount=TEN_UNITS)),
    ),
    RefusalCode.ABOVE_MAX_AMOUNT: (
        lambda: run(buy(), ctx=with_rules(max_amount=9.99)),
        lambda: run(buy(), ctx=with_rules(max_amount=TEN_UNITS)),
    ),
    RefusalCode.BELOW_MIN_NOTIONAL: (
        lambda: run(buy(), ctx=with_rules(min_notional=1_000.01)),
        lambda: run(buy(), ctx=with_rules(min_notional=1_000.0)),
    ),
    RefusalCode.RATE_LIMITED: (minute_of_orders(10), minute_of_orders(9)),
    RefusalCode.DUPLICATE_ORDER: (
        lambda: run(buy(), ctx=context(recent_orders=(recent(59.999, quantity=TEN_UNITS),))),
        lambda: run(buy(), ctx=context(recent_orders=(recent(60.0, quantity=TEN_UNITS),))),
    ),
    RefusalCode.STOP_LOSS_REQUIRED: (
        lambda: run(buy(stop_loss=None)),
        lambda: run(buy(stop_loss=98.0)),
    ),
    RefusalCode.RISK_PER_TRADE_EXCEEDED: (risk_per_trade(0.0099), risk_per_trade(0.01)),
    RefusalCode.CORRELATION_CAP: (correlated(20.01), correlated(20.0)),
    RefusalCode.VOLATILITY_CAP: (volatility(1.001), volatility(1.0)),
    RefusalCode.KELLY_CAP: (kelly(0.33), kelly(0.34)),
    RefusalCode.DRAWDOWN_SIZE_CAP: (drawdown(0.499), drawdown(0.5)),
    RefusalCode.INTERNAL_ERROR: (
        lambda: run(buy(), book=portfolio(cash=NAN)),
        lambda: run(buy(), book=portfolio(cash=10_000.0)),
    ),
}


def test_the_table_covers_every_refusal_code() -> None:
    assert set(CASES) == set(RefusalCode)


@pytest.mark.parametrize("code", list(CASES), ids=lambda code: code.name)
def test_just_past_the_limit_is_refused_with_its_code(code: RefusalCode) -> None:
    past, _ = CASES[code]

    verdict = past()

    assert code.name in codes(verdict)


@pytest.mark.parametrize("code", list(CASES), ids=lambda code: code.name)
def test_just_inside_the_limit_is_approved(code: RefusalCode) -> None:
    _, inside = CASES[code]

    verdict = inside()

    assert isinstance(verdict, Approved), verdict


def test_sell_side_codes_hold_for_sells_too() -> None:
    """The throttle applies to exits as well (only flatten is exempt)."""
    orders = tuple(recent(age_seconds=1.0, side=Side.SELL, quantity=0.3) for _ in range(10))

    verdict = run(sell(), book=HELD, ctx=context(recent_orders=orders))

    assert codes(verdict) == {"RATE_LIMITED"}
