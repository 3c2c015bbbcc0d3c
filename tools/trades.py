"""The trade lifecycle: fills grouped into round trips, and the closed trade each one leaves.

A trade opens with the first buy of a flat symbol, takes every buy and sell of that symbol
until the position is flat again, and then closes with its realized profit or loss: everything
received minus everything paid, fees included. This one model feeds the loss-streak breaker,
the position reviews that reflection learns from, the parity check, the evaluation report and
the run summary, so a trade is the same trade everywhere.

Only what a tracker saw bought can close: a sell of a position it never saw open (one carried
over from an earlier run, say) is not a round trip it can price, unless the tracker was first
brought up to date with the account's earlier fills (`RoundTrips.continuing`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.types import Fill, Side

FLAT = 1e-12


@dataclass(frozen=True)
class ClosedTrade:
    """One round trip, from the first buy of a flat symbol to flat again."""

    symbol: str
    opened_ms: int
    """Candle time of the fill that opened it."""
    closed_ms: int
    """Candle time of the fill that closed it."""
    quantity: float
    """Everything bought (and so sold)."""
    entry_price: float
    """Average price of the buys, weighted by quantity, fees apart."""
    exit_price: float
    """Average price of the sells, weighted by quantity, fees apart."""
    entry_fees: float
    exit_fees: float
    entry_cost: float
    """What opening it cost: the buys' notional and their fees."""
    pnl: float
    """Realized, in the quote currency: received minus paid, fees included."""
    order_ids: tuple[str, ...]
    """Client order ids of its fills, in order."""

    @property
    def fees(self) -> float:
        return self.entry_fees + self.exit_fees

    @property
    def return_fraction(self) -> float:
        """`pnl` as a fraction of what the entry cost."""
        cost = self.entry_cost
        return self.pnl / cost if cost else 0.0

    @property
    def duration_ms(self) -> int:
        return self.closed_ms - self.opened_ms


@dataclass(frozen=True)
class OpenTrade:
    """A round trip not yet flat: what is still held and the cash it has moved so far."""

    symbol: str
    opened_ms: int
    quantity: float
    """Still held."""
    cash_flow: float
    """Received minus paid so far, fees included (negative while nothing was sold)."""

    def marked_pnl(self, price: float) -> float:
        """Its profit or loss if what is held were worth `price` (fees of a sale apart)."""
        return self.cash_flow + self.quantity * price


@dataclass
class _OpenTrade:
    opened_ms: int
    held: float = 0.0
    bought: float = 0.0
    bought_notional: float = 0.0
    entry_cost: float = 0.0
    sold: float = 0.0
    sold_notional: float = 0.0
    entry_fees: float = 0.0
    exit_fees: float = 0.0
    cash_flow: float = 0.0
    order_ids: list[str] = field(default_factory=list)


class RoundTrips:
    """Follows each symbol's trade fill by fill; `closed` keeps every trade closed so far."""

    def __init__(self) -> None:
        self._open: dict[str, _OpenTrade] = {}
        self.closed: list[ClosedTrade] = []

    @classmethod
    def continuing(cls, earlier: Iterable[Fill]) -> RoundTrips:
        """A tracker that has seen an account's earlier fills: the trades they left open can
        close later; the trades they closed are history, not counted in `closed`."""
        trips = cls()
        for fill in earlier:
            trips.on_fill(fill)
        trips.closed.clear()
        return trips

    def open_quantity(self, symbol: str) -> float:
        trade = self._open.get(symbol)
        return trade.held if trade is not None else 0.0

    def still_open(self) -> list[OpenTrade]:
        """The trades not yet flat, by symbol (a report marks them at the last close)."""
        return [
            OpenTrade(symbol, t.opened_ms, t.held, t.cash_flow)
            for symbol, t in sorted(self._open.items())
        ]

    def on_fill(self, fill: Fill) -> ClosedTrade | None:
        """Account for one fill; the trade it closes, if it closes one."""
        trade = self._open.get(fill.symbol)
        if fill.side is Side.BUY:
            if trade is None:
                trade = self._open[fill.symbol] = _OpenTrade(opened_ms=fill.ts)
            trade.held += fill.quantity
            trade.bought += fill.quantity
            trade.bought_notional += fill.notional
            trade.entry_fees += fill.fee
            trade.entry_cost += fill.notional + fill.fee
            trade.cash_flow -= fill.notional + fill.fee
            trade.order_ids.append(fill.client_order_id)
            return None
        if trade is None:
            return None
        share = trade.held / fill.quantity if fill.quantity > trade.held + FLAT else 1.0
        quantity, notional, paid = fill.quantity * share, fill.notional * share, fill.fee * share
        trade.held -= quantity
        trade.sold += quantity
        trade.sold_notional += notional
        trade.exit_fees += paid
        trade.cash_flow += notional - paid
        trade.order_ids.append(fill.client_order_id)
        if trade.held > FLAT:
            return None
        del self._open[fill.symbol]
        closed = ClosedTrade(
            symbol=fill.symbol,
            opened_ms=trade.opened_ms,
            closed_ms=fill.ts,
            quantity=trade.bought,
            entry_price=trade.bought_notional / trade.bought,
            exit_price=trade.sold_notional / trade.sold,
            entry_fees=trade.entry_fees,
            exit_fees=trade.exit_fees,
            entry_cost=trade.entry_cost,
            pnl=trade.cash_flow,
            order_ids=tuple(trade.order_ids),
        )
        self.closed.append(closed)
        return closed


def closed_trades(fills: Iterable[Fill]) -> list[ClosedTrade]:
    """The round trips a sequence of fills closes, in the order they closed."""
    trips = RoundTrips()
    for fill in fills:
        trips.on_fill(fill)
    return trips.closed
