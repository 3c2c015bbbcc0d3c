"""Builders for the validator's tests: a market, a portfolio, proposals, a risk context and one
call to validate.

Defaults: BTC/USDT at 100, 10_000 cash, default RiskLimits, an empty RiskContext, ACTIVE. A
`buy()` carries a stop at 98 (2% below), so the default risk per trade (1% of equity = 100)
allows up to 50 units: the same as the default position share (50% of 10_000 at 100). Tests
about the stop or the caps set their own.
"""

from __future__ import annotations

import math
from typing import Any

from core.types import (
    Action,
    Approved,
    BreakerSnapshot,
    Candle,
    DataIssue,
    Denied,
    InstrumentRules,
    MarketInfo,
    MarketSnapshot,
    Order,
    OrderType,
    Portfolio,
    Position,
    Proposal,
    RecentOrder,
    RiskContext,
    RiskLimits,
    Side,
    TradingState,
    Verdict,
)
from risk.validator import validate

SYMBOL = "BTC/USDT"
NOW = 1_700_000_000_000
STOP = 98.0
NAN = math.nan
INF = math.inf
SECOND = 1_000


def market(
    price: float = 100.0, symbol: str = SYMBOL, issues: tuple[str, ...] = ()
) -> MarketSnapshot:
    return MarketSnapshot(
        info=MarketInfo(source="test", symbol=symbol, timeframe="1h", synthetic=True),
        now_ms=NOW,
        last=Candle(ts=NOW - 3_600_000, open=price, high=price, low=price, close=price, volume=1.0),
        bars_seen=500,
        issues=tuple(DataIssue(kind=kind, detail=f"{kind} found") for kind in issues),
    )


def portfolio(cash: float = 10_000.0, **held: tuple[float, float]) -> Portfolio:
    """Cash plus positions given as BASE=(quantity, avg_price), e.g. BTC=(20, 100)."""
    positions = {
        f"{base}/USDT": Position(symbol=f"{base}/USDT", quantity=q, avg_price=p)
        for base, (q, p) in held.items()
    }
    return Portfolio(cash=cash, positions=positions)


def buy(size: float = 0.1, confidence: float = 0.8, **fields: Any) -> Proposal:
    """A BUY built without validation (model_construct), so junk reaches the validator."""
    return Proposal.model_construct(
        **{
            "action": Action.BUY,
            "symbol": SYMBOL,
            "size_fraction": size,
            "confidence": confidence,
            "order_type": OrderType.MARKET,
            "limit_price": None,
            "stop_loss": STOP,
            "take_profit": None,
            "thesis": "test",
            **fields,
        }
    )


def sell(size: float = 1.0, confidence: float = 0.8, **fields: Any) -> Proposal:
    return buy(
        size=size, confidence=confidence, action=Action.SELL, **{"stop_loss": None, **fields}
    )


def limit_buy(limit_price: float, **fields: Any) -> Proposal:
    return buy(order_type=OrderType.LIMIT, limit_price=limit_price, **fields)


def recent(
    age_seconds: float,
    *,
    quantity: float = 1.0,
    side: Side = Side.BUY,
    symbol: str = SYMBOL,
) -> RecentOrder:
    """An order sent `age_seconds` before NOW."""
    return RecentOrder(
        symbol=symbol, side=side, quantity=quantity, created_ms=NOW - int(age_seconds * SECOND)
    )


def open_order(
    side: Side,
    quantity: float,
    price: float = 100.0,
    *,
    symbol: str = SYMBOL,
    limit_price: float | None = None,
) -> Order:
    return Order(
        client_order_id=f"open-{side.value}-{quantity}",
        symbol=symbol,
        side=side,
        type=OrderType.MARKET if limit_price is None else OrderType.LIMIT,
        quantity=quantity,
        reference_price=price,
        limit_price=limit_price,
        created_ms=NOW - 60 * SECOND,
    )


def context(**fields: Any) -> RiskContext:
    return RiskContext(**fields)


def with_rules(**fields: float) -> RiskContext:
    """A context holding only exchange rules."""
    return RiskContext(rules=InstrumentRules(**fields))


def run(
    proposal: Proposal,
    book: Portfolio | None = None,
    snapshot: MarketSnapshot | None = None,
    limits: RiskLimits | None = None,
    state: TradingState = TradingState.ACTIVE,
    *,
    ctx: RiskContext | None = None,
    multiplier: float = 1.0,
) -> Verdict:
    breakers = BreakerSnapshot(
        state=state, reasons=(f"test says {state.value}",), size_multiplier=multiplier
    )
    return validate(
        proposal,
        book if book is not None else portfolio(),
        snapshot if snapshot is not None else market(),
        limits if limits is not None else RiskLimits(),
        breakers,
        NOW,
        client_order_id="tg-test-1",
        context=ctx if ctx is not None else RiskContext(),
    )


def codes(verdict: Verdict) -> set[str]:
    assert isinstance(verdict, Denied), f"expected a denial, got {verdict!r}"
    return set(verdict.codes)


def detail(verdict: Verdict, code: str) -> str:
    """The detail of the (first) refusal with that code."""
    assert isinstance(verdict, Denied), f"expected a denial, got {verdict!r}"
    return next(r.detail for r in verdict.refusals if r.code.name == code)


def approved(verdict: Verdict) -> Approved:
    assert isinstance(verdict, Approved), f"expected an approval, got {verdict!r}"
    return verdict


def quantity(verdict: Verdict) -> float:
    return approved(verdict).order.quantity
