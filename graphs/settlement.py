"""Settling a candle: the graph's settle step.

At each candle close, before anything is decided: the broker fills what rested against the
candle (orders of earlier cycles at its open, resting stops at their price) into the ledger;
each fill moves the round trips and the position reviews on (a closed losing trade counts
towards the loss-streak breaker); then the breakers see the account as it is after those fills
(drawdown, daily loss, data issues, the audit trail's backlog) and orders they no longer allow
are cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import BrokerError
from core.types import BreakerSnapshot, ClosedPosition, Fill, MarketSnapshot, Side, TradingState
from graphs.market_book import MarketBook
from graphs.reviews import PositionReviews
from memory.traces import TraceStore
from risk.breakers import BreakerBoard
from tools.trades import RoundTrips

if TYPE_CHECKING:
    from graphs.cycle_ports import Broker


@dataclass(frozen=True)
class Settled:
    """What settling a candle left: its fills, the positions they closed (for the learn step)
    and the breakers' state after them."""

    fills: list[Fill]
    closed: list[ClosedPosition]
    breakers: BreakerSnapshot


class Settlement:
    def __init__(
        self,
        broker: Broker,
        board: BreakerBoard,
        round_trips: RoundTrips,
        reviews: PositionReviews,
        book: MarketBook,
        traces: TraceStore,
    ) -> None:
        self.broker, self.board, self.book, self.traces = broker, board, book, traces
        self.round_trips, self.reviews = round_trips, reviews

    def settle(self, snapshot: MarketSnapshot) -> Settled:
        candle, now, symbol = snapshot.last, snapshot.now_ms, snapshot.info.symbol
        try:
            fills = self.broker.on_candle(symbol, candle)
        except BrokerError as exc:  # unreachable now: the fills wait for the next candle
            if exc.counts_as_error:
                self.board.record_error(exc.source, str(exc), now)
            fills = []
        closed: list[ClosedPosition] = []
        for fill in fills:
            trade = self.round_trips.on_fill(fill)
            if trade is not None:
                self.board.record_trade(trade.pnl, now)
            review = self.reviews.on_fill(fill, snapshot.bars_seen, trade)
            if review is not None:
                closed.append(review)
        self.reviews.on_candle(candle)
        equity = self.broker.portfolio.equity(self.book.marks)
        breakers = self.board.update(equity, snapshot, now, unpersisted_traces=self.traces.spooled)
        # Only this market's orders: they had their chance to fill at this candle. Another
        # market's order placed earlier at the same close (a flatten exit) waits for its own.
        if breakers.state is TradingState.HALTED:
            self.broker.cancel_pending(symbol=symbol)
        elif breakers.state is not TradingState.ACTIVE:
            self.broker.cancel_pending(Side.BUY, symbol=symbol)
        return Settled(fills=fills, closed=closed, breakers=breakers)
