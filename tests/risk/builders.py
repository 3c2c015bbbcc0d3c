"""Builders for the validator's tests: a market, a portfolio, proposals and one call to validate."""

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
    MarketInfo,
    MarketSnapshot,
    OrderType,
    Portfolio,
    Position,
    Proposal,
    RiskLimits,
    TradingState,
    Verdict,
)
from risk.validator import validate

SYMBOL = "BTC/USDT"
NOW = 1_700_000_000_000
NAN = math.nan
INF = math.inf


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
    return Proposal.model_construct(
        **{
            "action": Action.BUY,
            "symbol": SYMBOL,
            "size_fraction": size,
            "confidence": confidence,
            "order_type": OrderType.MARKET,
            "limit_price": None,
            "stop_loss": None,
            "take_profit": None,
            "thesis": "test",
            **fields,
        }
    )


def sell(size: float = 1.0, confidence: float = 0.8, **fields: Any) -> Proposal:
    return buy(size=size, confidence=confidence, action=Action.SELL, **fields)


def run(
    proposal: Proposal,
    book: Portfolio | None = None,
    snapshot: MarketSnapshot | None = None,
    limits: RiskLimits | None = None,
    state: TradingState = TradingState.ACTIVE,
) -> Verdict:
    return validate(
        proposal,
        book if book is not None else portfolio(),
        snapshot if snapshot is not None else market(),
        limits if limits is not None else RiskLimits(),
        BreakerSnapshot(state=state, reasons=(f"test says {state.value}",)),
        NOW,
        client_order_id="tg-test-1",
    )


def codes(verdict: Verdict) -> set[str]:
    assert isinstance(verdict, Denied), f"expected a denial, got {verdict!r}"
    return set(verdict.codes)


def approved(verdict: Verdict) -> Approved:
    assert isinstance(verdict, Approved), f"expected an approval, got {verdict!r}"
    return verdict
