"""Property: whatever the analyst, portfolio and market say, an approval respects every limit.

Hypothesis builds portfolios, markets, limits and proposals (through model_construct, so junk
numbers and types get through to the validator) and checks that `validate` never raises and
that every Approved order, re-checked here from the inputs, is within every limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.types import (
    Action,
    Approved,
    BreakerSnapshot,
    Denied,
    Hold,
    MarketSnapshot,
    OrderType,
    Portfolio,
    Position,
    Proposal,
    RiskLimits,
    Side,
    TradingState,
)
from risk.approval import verify
from risk.validator import validate
from tests.risk.builders import INF, NAN, NOW, SYMBOL, market

SYMBOLS = (SYMBOL, "ETH/USDT", "SOL/USDT")
special = st.sampled_from([0.0, -0.0, -1.0, 1.0, 1e-12, 1e308, NAN, INF, -INF])
adversarial = st.one_of(special, st.floats(allow_nan=True, allow_infinity=True))
garbage = st.one_of(st.none(), st.text(max_size=3), st.booleans(), st.just([1.0]))
bad_number = st.one_of(adversarial, garbage)
near_reference = st.floats(min_value=85.0, max_value=115.0)


@dataclass(frozen=True)
class Scenario:
    proposal: Proposal
    book: Portfolio
    snapshot: MarketSnapshot
    limits: RiskLimits
    state: TradingState


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Most examples are plausible, with one input now and then just past a limit, so that
    approvals happen and get checked near every limit; the rest are hostile (junk numbers and
    types in the proposal and the price) or corrupt (junk in the portfolio)."""
    mode = draw(st.sampled_from(["plausible"] * 6 + ["hostile", "corrupt"]))

    def usually(usual: st.SearchStrategy[Any], unusual: st.SearchStrategy[Any]) -> Any:
        return draw(unusual if draw(st.sampled_from(range(8))) == 0 else usual)

    def junk_in(where: str, plausible: Any, junk: st.SearchStrategy[Any]) -> Any:
        return draw(junk) if mode == where and draw(st.sampled_from(range(3))) == 0 else plausible

    def number(where: str, usual: st.SearchStrategy[Any], unusual: st.SearchStrategy[Any]) -> Any:
        return junk_in(where, usually(usual, unusual), bad_number)

    price = junk_in("hostile", draw(st.floats(99.0, 101.0)), adversarial)
    positions = {
        symbol: Position.model_construct(
            symbol=symbol,
            quantity=number("corrupt", st.floats(0.0, 10.0), st.floats(10.0, 500.0)),
            avg_price=number("corrupt", st.floats(1.0, 100.0), st.floats(100.0, 1e4)),
            stop_loss=None,
        )
        for symbol in sorted(draw(st.sets(st.sampled_from(SYMBOLS), max_size=2)) | {SYMBOL})
    }
    book = Portfolio.model_construct(
        quote_currency="USDT",
        cash=number("corrupt", st.floats(5e3, 1e5), st.floats(0.0, 5e3)),
        positions=junk_in("corrupt", positions, st.one_of(st.none(), st.just([SYMBOL]))),
    )
    some_price = st.floats(80.0, 120.0)
    proposal = Proposal.model_construct(
        action=junk_in(
            "hostile",
            usually(st.sampled_from([Action.BUY, Action.SELL]), st.just(Action.HOLD)),
            garbage,
        ),
        symbol=junk_in("hostile", usually(st.just(SYMBOL), st.just("ETH/USDT")), garbage),
        size_fraction=number("hostile", st.floats(0.001, 0.3), st.floats(0.3, 1.3)),
        order_type=junk_in(
            "hostile", usually(st.just(OrderType.MARKET), st.just(OrderType.LIMIT)), garbage
        ),
        limit_price=number("hostile", st.floats(96.0, 104.0), st.one_of(st.none(), some_price)),
        stop_loss=number("hostile", st.none(), some_price),
        take_profit=number("hostile", st.none(), some_price),
        confidence=number("hostile", st.floats(0.7, 1.0), st.floats(0.0, 0.7)),
        thesis="",
    )
    limits = RiskLimits(
        max_order_notional=usually(st.just(1e6), st.floats(100.0, 1e4)),
        max_position_fraction=usually(st.floats(0.5, 1.0), st.floats(0.01, 0.5)),
        min_confidence=draw(st.floats(0.0, 0.7)),
        fee_reserve=usually(st.floats(0.0, 0.02), st.floats(0.02, 0.49)),
        allowed_symbols=usually(
            st.sampled_from([(), (SYMBOL,), (SYMBOL, "ETH/USDT")]), st.just(("ETH/USDT",))
        ),
    )
    issues = usually(st.just(()), st.sampled_from([("stale",), ("gap",), ("outlier", "stale")]))
    state = usually(st.just(TradingState.ACTIVE), st.sampled_from(list(TradingState)))
    return Scenario(proposal, book, market(price=price, issues=issues), limits, state)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_every_approval_satisfies_every_limit(scenario: Scenario) -> None:
    proposal, book, limits, state = (
        scenario.proposal,
        scenario.book,
        scenario.limits,
        scenario.state,
    )
    price = scenario.snapshot.price

    verdict = validate(
        proposal,
        book,
        scenario.snapshot,
        limits,
        BreakerSnapshot(state=state),
        NOW,
        client_order_id="tg-property",
    )

    assert isinstance(verdict, Approved | Denied | Hold)
    event(type(verdict).__name__)  # --hypothesis-show-statistics: approvals must be checked too
    if isinstance(verdict, Hold):
        assert proposal.action == Action.HOLD
    if not isinstance(verdict, Approved):
        return
    order = verify(verdict)
    held = book.quantity(order.symbol)
    assert math.isfinite(order.quantity)
    assert order.quantity > 0
    assert order.symbol == SYMBOL
    assert not limits.allowed_symbols or order.symbol in limits.allowed_symbols
    assert order.reference_price == price
    assert state is not TradingState.HALTED
    for target in (proposal.stop_loss, proposal.take_profit, order.limit_price):
        assert target is None or (math.isfinite(target) and target > 0)
    if order.type is OrderType.LIMIT:
        assert order.limit_price is not None
        assert abs(order.limit_price - price) <= 0.10 * price
    else:
        assert not scenario.snapshot.stale, "market order approved on stale data"
    if order.side is Side.BUY:
        equity = book.equity({SYMBOL: price})
        assert state is TradingState.ACTIVE
        assert limits.min_confidence <= proposal.confidence <= 1.0
        assert order.notional <= limits.max_order_notional
        assert order.notional <= book.cash * (1 - limits.fee_reserve)
        assert (held + order.quantity) * price <= limits.max_position_fraction * equity
        assert proposal.stop_loss is None or proposal.stop_loss < price
        assert proposal.take_profit is None or proposal.take_profit > price
    else:
        assert order.quantity <= held
        assert state is TradingState.ACTIVE or held > 0
