"""Round trips: from fills to closed trades with their realized profit or loss.

A trade opens with the first buy of a flat symbol and closes when the position is flat again;
its PnL is everything received minus everything paid, fees included.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.types import Fill, Side

FLAT = 1e-12


@dataclass(frozen=True)
class ClosedTrade:
    symbol: str
    opened_ms: int
    closed_ms: int
    pnl: float


class RoundTrips:
    def __init__(self) -> None:
        self._quantity: dict[str, float] = {}
        self._cash_flow: dict[str, float] = {}
        self._opened: dict[str, int] = {}

    def on_fill(self, fill: Fill) -> ClosedTrade | None:
        """Account for one fill; the trade it closes, if it closes one."""
        symbol = fill.symbol
        quantity = self._quantity.get(symbol, 0.0)
        if quantity <= FLAT:
            self._opened[symbol] = fill.ts
            self._cash_flow[symbol] = 0.0
        sign = 1.0 if fill.side is Side.BUY else -1.0
        self._quantity[symbol] = quantity + sign * fill.quantity
        self._cash_flow[symbol] -= sign * fill.notional + fill.fee
        if fill.side is Side.SELL and self._quantity[symbol] <= FLAT:
            self._quantity[symbol] = 0.0
            return ClosedTrade(
                symbol=symbol,
                opened_ms=self._opened[symbol],
                closed_ms=fill.ts,
                pnl=self._cash_flow[symbol],
            )
        return None
