"""Position reviews: follow each position from the order that opened it to the fill that
closed it, so the reflection step can look back at the whole trade.

The trade itself (its prices, fees, P&L, order ids) is the closed trade of the one trade model
(`tools.trades`), the same the loss-streak breaker and the reports count; a review adds what
only the cycle knows: why it was opened (the entry's trace, features and thesis), why it was
closed, how many candles it was held and its worst low."""

from __future__ import annotations

from dataclasses import dataclass

from core.types import Candle, ClosedPosition, Features, Fill, Order, Side
from tools.trades import ClosedTrade

MAX_UNFILLED = 64
STOP_PREFIX = "stop-"
"""Client order ids of resting stop-losses filled by the broker."""


@dataclass(frozen=True)
class _Intent:
    trace_id: str
    situation_id: str
    features: Features
    thesis: str
    persona: str


@dataclass
class _Open:
    intent: _Intent
    opened_bars: int
    lowest: float = float("inf")


class PositionReviews:
    def __init__(self, timeframe: str) -> None:
        self._timeframe = timeframe
        self._intents: dict[str, _Intent] = {}
        self._open: dict[str, _Open] = {}
        self._exit_theses: dict[str, str] = {}

    def on_order(
        self,
        order: Order,
        *,
        trace_id: str,
        situation_id: str,
        features: Features,
        thesis: str,
        persona: str = "",
    ) -> None:
        """An order was sent: remember why (and which offline persona wanted it), to explain
        the fill it leads to."""
        if order.side is Side.BUY:
            self._intents[order.client_order_id] = _Intent(
                trace_id, situation_id, features, thesis, persona
            )
            _keep_recent(self._intents)
        else:
            self._exit_theses[order.client_order_id] = thesis
            _keep_recent(self._exit_theses)

    def on_candle(self, candle: Candle) -> None:
        """Track the worst low of every open position (its adverse excursion)."""
        for position in self._open.values():
            position.lowest = min(position.lowest, candle.low)

    def on_fill(self, fill: Fill, bars: int, closed: ClosedTrade | None) -> ClosedPosition | None:
        """Account for one fill (`closed`: the trade it closed, from `tools.trades`); the
        review of the position it closes, if it closes one that this session opened."""
        symbol = fill.symbol
        if fill.side is Side.BUY:
            if symbol not in self._open:
                intent = self._intents.pop(fill.client_order_id, None)
                if intent is not None:
                    self._open[symbol] = _Open(intent=intent, opened_bars=bars)
            return None
        position = self._open.get(symbol)
        if position is None or closed is None:
            return None
        del self._open[symbol]
        if fill.client_order_id.startswith(STOP_PREFIX):
            reason = f"the resting stop-loss, filled at {fill.price:,.6g}"
        else:
            reason = self._exit_theses.pop(fill.client_order_id, "a SELL order")
        lowest = min(position.lowest, fill.price)
        entry = closed.entry_price
        return ClosedPosition(
            symbol=symbol,
            timeframe=self._timeframe,
            opened_ms=closed.opened_ms,
            closed_ms=closed.closed_ms,
            candles_held=max(0, bars - position.opened_bars),
            entry_price=entry,
            exit_price=closed.exit_price,
            pnl=closed.pnl,
            pnl_fraction=closed.return_fraction,
            entry_features=position.intent.features,
            entry_thesis=position.intent.thesis,
            exit_reason=reason,
            max_adverse=min(0.0, lowest / entry - 1.0) if entry else 0.0,
            entry_trace_id=position.intent.trace_id,
            entry_situation_id=position.intent.situation_id,
            order_ids=closed.order_ids,
            entry_persona=position.intent.persona,
        )


def _keep_recent(orders: dict[str, object] | dict[str, str] | dict[str, _Intent]) -> None:
    """Orders cancelled unfilled leave nothing to review: keep only the most recent ones."""
    while len(orders) > MAX_UNFILLED:
        del orders[next(iter(orders))]
