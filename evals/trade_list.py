"""The trade list a trader reads: every round trip of a replay, why it ended and who opened it,
and the statistics over those trades.

The round trips are `tools.trades` ones (the ledger's fills, fees included), so the list is
the same trades the metrics, the breakers and reflection count. What the fills alone cannot
say comes from the sealed traces: the trace that placed the closing order says whether the
analyst sold or a breaker flattened (a fill no trace placed is the paper broker's resting
stop), and the trace that placed the opening order names the analyst, and for the offline
analyst the persona its thesis starts with. Positions still open at the end are not rows (they
have no exit): the report counts them and marks them in its per-symbol rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from core.types import Trace
from graphs.summary import iso
from tools.trades import ClosedTrade, closed_trades

STOP_ORDER_PREFIX = "stop-"
"""Client order ids the paper broker gives the sale of a triggered resting stop."""
PERSONA_PREFACE = re.compile(r"^\[([a-z][a-z_-]*)(?:,| over )")
"""The offline analyst starts every thesis with `[persona, ...` or `[persona over other ...`."""
OFFLINE = "offline"


class ExitReason(StrEnum):
    STOP_LOSS = "stop_loss"
    """The resting stop-loss approved with the entry filled."""
    ANALYST_SELL = "analyst_sell"
    """The analyst proposed a SELL and the validator approved it."""
    BREAKER_FLATTEN = "breaker_flatten"
    """A circuit breaker demanded the reduce-only flatten."""
    UNKNOWN = "unknown"
    """The closing order was placed by no cycle of this replay."""


class TradeRow(BaseModel):
    """One closed round trip; the CSV's columns are these fields, in this order."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    entry_time: str
    entry_ms: int
    """Candle time (UTC, ms) of the first entry fill."""
    exit_time: str
    exit_ms: int
    entry_price: float
    """Quantity-weighted average of the buys, fees apart."""
    exit_price: float
    quantity: float
    notional: float
    """Quantity times entry price, in the quote currency."""
    pnl: float
    """Realized, fees included."""
    trade_return: float
    """`pnl` over what the entry cost (notional and fees), a fraction: 0.01 is 1%."""
    fees: float
    holding_hours: float
    holding_candles: int
    exit_reason: ExitReason
    analyst: str
    strategy: str
    """The offline analyst's persona that opened it, or the analyst's name for any other."""


class TradeStats(BaseModel):
    """Statistics over the closed trades (pnl in the quote currency, fees included)."""

    model_config = ConfigDict(frozen=True)

    trades: int
    wins: int
    losses: int
    """Trades with a negative pnl (a break-even trade is neither a win nor a loss)."""
    win_rate: float
    gross_profit: float
    gross_loss: float
    """The losing trades' pnl added up, as a positive amount."""
    profit_factor: float | None
    """Gross profit over gross loss; None without a losing trade."""
    expectancy: float
    """Mean pnl per trade."""
    expectancy_return: float
    """Mean trade return (a fraction of the entry cost)."""
    average_win: float | None
    average_loss: float | None
    """Mean pnl of the losing trades (negative); None without one."""
    largest_win: float | None
    largest_loss: float | None
    longest_losing_streak: int
    """Most losing trades in a row, in the order they closed."""
    average_holding_hours: float | None
    fees_paid: float
    """Every fill's fee, open positions' entries included."""
    fee_drag: float
    """`fees_paid` over the starting equity: the return given up to fees."""
    open_positions: int
    """Positions still open at the end: not in the trade list."""


def trade_rows(traces: Sequence[Trace], period_seconds: float) -> list[TradeRow]:
    """The replay's closed round trips, in the order they closed."""
    placed = {t.order.client_order_id: t for t in traces if t.order is not None}
    fills = [fill for trace in traces for fill in trace.fills]
    return [_row(trade, placed, period_seconds) for trade in closed_trades(fills)]


def _row(trade: ClosedTrade, placed: dict[str, Trace], period_seconds: float) -> TradeRow:
    opener = placed.get(trade.order_ids[0])
    analyst = opener.analyst if opener is not None else "unknown"
    return TradeRow(
        symbol=trade.symbol,
        entry_time=iso(trade.opened_ms),
        entry_ms=trade.opened_ms,
        exit_time=iso(trade.closed_ms),
        exit_ms=trade.closed_ms,
        entry_price=trade.entry_price,
        exit_price=trade.exit_price,
        quantity=trade.quantity,
        notional=trade.quantity * trade.entry_price,
        pnl=trade.pnl,
        trade_return=trade.return_fraction,
        fees=trade.fees,
        holding_hours=trade.duration_ms / 3_600_000,
        holding_candles=round(trade.duration_ms / (period_seconds * 1000)),
        exit_reason=exit_reason(trade.order_ids[-1], placed),
        analyst=analyst,
        strategy=_strategy(opener) if opener is not None else analyst,
    )


def exit_reason(order_id: str, placed: dict[str, Trace]) -> ExitReason:
    """Why the order that closed a trade was sent, from the trace that placed it."""
    trace = placed.get(order_id)
    if trace is None:
        return (
            ExitReason.STOP_LOSS if order_id.startswith(STOP_ORDER_PREFIX) else ExitReason.UNKNOWN
        )
    return ExitReason.BREAKER_FLATTEN if trace.flatten else ExitReason.ANALYST_SELL


def _strategy(trace: Trace) -> str:
    if trace.analyst != OFFLINE:
        return trace.analyst
    persona = PERSONA_PREFACE.match(trace.proposal.thesis)
    return persona.group(1) if persona else trace.analyst


def trade_stats(
    rows: Sequence[TradeRow], *, fees_paid: float, initial_equity: float, open_positions: int
) -> TradeStats:
    pnls = [r.pnl for r in rows]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    gross_profit, gross_loss = sum(wins), -sum(losses)
    streak = longest = 0
    for pnl in pnls:
        streak = streak + 1 if pnl < 0 else 0
        longest = max(longest, streak)
    count = len(rows)
    return TradeStats(
        trades=count,
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / count if count else 0.0,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=gross_profit / gross_loss if gross_loss > 0 else None,
        expectancy=sum(pnls) / count if count else 0.0,
        expectancy_return=sum(r.trade_return for r in rows) / count if count else 0.0,
        average_win=gross_profit / len(wins) if wins else None,
        average_loss=-gross_loss / len(losses) if losses else None,
        largest_win=max(wins) if wins else None,
        largest_loss=min(losses) if losses else None,
        longest_losing_streak=longest,
        average_holding_hours=sum(r.holding_hours for r in rows) / count if count else None,
        fees_paid=fees_paid,
        fee_drag=fees_paid / initial_equity if initial_equity > 0 else 0.0,
        open_positions=open_positions,
    )


TRADE_COLUMNS = tuple(TradeRow.model_fields)


def trades_csv(rows: Sequence[TradeRow]) -> str:
    """The trade list as CSV: a header row, then one row per trade, the JSON rows' values."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TRADE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.model_dump(mode="json"))
    return out.getvalue()
