"""The trade list: round trips from the fills, why each ended, who opened it, the statistics
over them, and the CSV that carries the same rows."""

import csv
import io

import pytest

from core.types import Action, Fill, Order, OrderType, Proposal, Side
from evals.trade_list import (
    TRADE_COLUMNS,
    ExitReason,
    TradeRow,
    trade_rows,
    trade_stats,
    trades_csv,
)
from tests.memory.test_traces import make_trace

HOUR = 3_600_000


def _order(seq: int, side: Side) -> Order:
    return Order(
        client_order_id=f"tg-run-a-{seq}",
        symbol="SYN/USDT",
        side=side,
        type=OrderType.MARKET,
        quantity=2.0,
        reference_price=100.0,
        created_ms=seq * HOUR,
    )


def _fill(order_id: str, side: Side, price: float, ts: int) -> Fill:
    return Fill(
        client_order_id=order_id, symbol="SYN/USDT", side=side, quantity=2.0, price=price,
        fee=0.2, ts=ts,
    )  # fmt: skip


def _placing(seq: int, side: Side, thesis: str = "", *, flatten: bool = False):
    """The trace of cycle `seq`, which placed an order on `side`."""
    action = Action.BUY if side is Side.BUY else Action.SELL
    return make_trace(seq).model_copy(
        update={
            "ts": seq * HOUR,
            "proposal": Proposal(action=action, symbol="SYN/USDT", thesis=thesis),
            "order": _order(seq, side),
            "flatten": flatten,
        }
    )


def _filling(seq: int, *fills: Fill):
    return make_trace(seq).model_copy(update={"ts": seq * HOUR, "fills": fills})


def _round_trip(start: int, exit_trace_or_id, *, entry_thesis: str, exit_price: float):
    """Buy placed at `start`, filled at `start + 1`; the exit filled at `start + 3`."""
    buy = _placing(start, Side.BUY, entry_thesis)
    traces = [
        buy,
        _filling(start + 1, _fill(buy.order.client_order_id, Side.BUY, 100.0, (start + 1) * HOUR)),
    ]
    if isinstance(exit_trace_or_id, str):  # a fill no cycle placed: the resting stop
        exit_id = exit_trace_or_id
    else:
        traces.append(exit_trace_or_id)
        exit_id = exit_trace_or_id.order.client_order_id
    traces.append(_filling(start + 3, _fill(exit_id, Side.SELL, exit_price, (start + 3) * HOUR)))
    return traces  # fmt: skip


def test_each_exit_reason_is_read_from_the_trace_that_placed_the_closing_order():
    traces = [
        *_round_trip(0, "stop-run-a-SYN/USDT-3", entry_thesis="[balanced, trend_up] go",
                     exit_price=95.0),
        *_round_trip(10, _placing(12, Side.SELL, "[balanced, manages it] out"),
                     entry_thesis="[aggressive over balanced (x)] go", exit_price=104.0),
        *_round_trip(20, _placing(22, Side.SELL, flatten=True),
                     entry_thesis="[contrarian, range regime] go", exit_price=99.0),
    ]  # fmt: skip

    rows = trade_rows(traces, period_seconds=3600)

    assert [r.exit_reason for r in rows] == [
        ExitReason.STOP_LOSS, ExitReason.ANALYST_SELL, ExitReason.BREAKER_FLATTEN
    ]  # fmt: skip
    assert [r.strategy for r in rows] == ["balanced", "aggressive", "contrarian"]


def test_a_row_holds_the_round_trip_of_the_fills():
    traces = _round_trip(0, _placing(2, Side.SELL), entry_thesis="[balanced, x]", exit_price=110.0)

    (row,) = trade_rows(traces, period_seconds=3600)

    assert (row.entry_ms, row.exit_ms) == (HOUR, 3 * HOUR)
    assert row.entry_time == "1970-01-01T01:00:00Z"
    assert (row.entry_price, row.exit_price, row.quantity) == (100.0, 110.0, 2.0)
    assert row.notional == pytest.approx(200.0)
    assert row.fees == pytest.approx(0.4)
    assert row.pnl == pytest.approx(220.0 - 0.2 - 200.0 - 0.2)
    assert row.trade_return == pytest.approx(row.pnl / 200.2)
    assert (row.holding_hours, row.holding_candles) == (2.0, 2)


def test_another_analyst_is_its_own_strategy_and_an_unplaced_order_is_unknown():
    buy = _placing(0, Side.BUY, "[balanced, looks like a persona but is not offline]")
    buy = buy.model_copy(update={"analyst": "anthropic"})
    traces = [
        buy,
        _filling(1, _fill(buy.order.client_order_id, Side.BUY, 100.0, HOUR)),
        _filling(3, _fill("someone-else-7", Side.SELL, 101.0, 3 * HOUR)),
    ]

    (row,) = trade_rows(traces, period_seconds=3600)

    assert (row.analyst, row.strategy) == ("anthropic", "anthropic")
    assert row.exit_reason is ExitReason.UNKNOWN


def _row(pnl: float, trade_return: float = 0.0, hours: float = 1.0) -> TradeRow:
    return TradeRow(
        symbol="SYN/USDT", entry_time="", entry_ms=0, exit_time="", exit_ms=0, entry_price=1.0,
        exit_price=1.0, quantity=1.0, notional=1.0, pnl=pnl, trade_return=trade_return,
        fees=0.0, holding_hours=hours, holding_candles=1, exit_reason=ExitReason.ANALYST_SELL,
        analyst="offline", strategy="balanced",
    )  # fmt: skip


def test_statistics_of_a_hand_made_list_of_trades():
    pnls = [10.0, -5.0, -3.0, 0.0, -2.0, 20.0, -1.0, -1.0, -1.0, 4.0]
    rows = [_row(p, trade_return=p / 100, hours=2.0) for p in pnls]

    stats = trade_stats(rows, fees_paid=12.0, initial_equity=1_000.0, open_positions=1)

    assert (stats.trades, stats.wins, stats.losses) == (10, 3, 6)
    assert stats.win_rate == pytest.approx(0.3)
    assert (stats.gross_profit, stats.gross_loss) == (34.0, 13.0)
    assert stats.profit_factor == pytest.approx(34.0 / 13.0)
    assert stats.expectancy == pytest.approx(2.1)
    assert stats.expectancy_return == pytest.approx(0.021)
    assert stats.average_win == pytest.approx(34.0 / 3)
    assert stats.average_loss == pytest.approx(-13.0 / 6)
    assert (stats.largest_win, stats.largest_loss) == (20.0, -5.0)
    assert stats.longest_losing_streak == 3  # a break-even trade ends a streak
    assert stats.average_holding_hours == 2.0
    assert stats.fee_drag == pytest.approx(0.012)
    assert stats.open_positions == 1


def test_without_a_losing_trade_there_is_no_profit_factor_and_no_average_loss():
    stats = trade_stats([_row(5.0)], fees_paid=0.0, initial_equity=100.0, open_positions=0)

    assert stats.profit_factor is None and stats.average_loss is None
    assert stats.longest_losing_streak == 0


def test_no_trades_give_zero_statistics_not_errors():
    stats = trade_stats([], fees_paid=0.0, initial_equity=100.0, open_positions=0)

    assert (stats.trades, stats.win_rate, stats.expectancy) == (0, 0.0, 0.0)
    assert stats.average_holding_hours is None


def test_the_csv_reads_back_as_the_json_rows():
    traces = [
        *_round_trip(0, "stop-x", entry_thesis="[balanced, a]", exit_price=95.123456789),
        *_round_trip(10, _placing(12, Side.SELL), entry_thesis="[contrarian, b]", exit_price=101.0),
    ]  # fmt: skip
    rows = trade_rows(traces, period_seconds=3600)

    text = trades_csv(rows)

    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == TRADE_COLUMNS
    assert [TradeRow.model_validate(r) for r in reader] == rows
