"""The analyst's brief: what it is told each cycle, built from checked data before it is asked."""

from __future__ import annotations

from core.types import Brief, Portfolio, RiskLimits, TradingState
from graphs.state import CycleState


def build_brief(state: CycleState, portfolio: Portfolio, limits: RiskLimits) -> Brief:
    """The brief for this cycle; `max_buy_fraction` is the largest BUY that fits every limit
    right now (zero unless trading is ACTIVE), so an analyst need not guess the headroom."""
    snapshot, breakers = state["snapshot"], state["breakers"]
    symbol = snapshot.info.symbol
    position = portfolio.positions.get(symbol)
    equity = portfolio.equity({symbol: snapshot.price})
    held_value = (position.quantity * snapshot.price) if position else 0.0
    room = breakers.size_multiplier * min(
        limits.max_position_fraction * equity - held_value,
        limits.max_gross_exposure * equity - portfolio.exposure({symbol: snapshot.price}),
        limits.max_order_notional,
        portfolio.cash * (1.0 - limits.fee_reserve),
    )
    if breakers.state is not TradingState.ACTIVE:
        room = 0.0
    return Brief(
        symbol=symbol,
        now_ms=snapshot.now_ms,
        price=snapshot.price,
        synthetic=snapshot.info.synthetic,
        timeframe=snapshot.info.timeframe,
        features=state["features"],
        position_quantity=position.quantity if position else 0.0,
        position_avg_price=position.avg_price if position else 0.0,
        position_stop=position.stop_loss if position else None,
        cash=portfolio.cash,
        equity=equity,
        trading_state=breakers.state,
        breaker_reasons=breakers.reasons,
        size_multiplier=breakers.size_multiplier,
        max_buy_fraction=max(0.0, room / equity) if equity > 0 else 0.0,
        min_confidence=limits.min_confidence,
        recalled=state.get("recalled", ()),
        lessons=state.get("lessons", ()),
    )
