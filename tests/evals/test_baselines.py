"""Baselines fill like the paper broker: decided at a close, traded at the next open, with costs."""

import math

import numpy as np
import pandas as pd
import pytest

from core.ledger import Ledger
from core.types import Order, OrderType, Side
from evals.baselines import Costs, buy_and_hold, cash, simulate_long_signal, sma_signal
from risk.approval import mint
from tests.support import series_from_closes
from tools.execution.paper import PaperBroker
from tools.trades import closed_trades

COSTS = Costs(initial_cash=1_000.0, fee_rate=0.001, slippage_bps=10.0)


def test_buy_and_hold_buys_at_the_second_open_with_slippage_and_fee():
    series = series_from_closes([100.0, 102.0, 105.0, 110.0])

    run = buy_and_hold(series, COSTS)

    price = series.open[1] * 1.001
    units = math.floor(1_000.0 / (price * 1.001) * 1e8) / 1e8  # rounded down, as the broker does
    assert run.entries == [1] and run.exits == []
    assert run.equity[:2] == [1_000.0, 1_000.0]  # flat until the fill
    assert run.equity[-1] == pytest.approx(units * 110.0)
    assert run.fees_paid == pytest.approx(units * price * 0.001)


def test_a_signal_is_never_traded_in_the_candle_it_was_decided_on():
    series = series_from_closes([100.0, 101.0, 102.0, 103.0, 104.0, 105.0])
    want = np.array([False, False, True, True, False, False])

    run = simulate_long_signal(series, want, COSTS)

    assert run.entries == [3] and run.exits == [5]
    assert run.bars_exposed == 2
    assert len(run.trade_pnls) == 1


def test_a_round_trip_pays_fees_and_slippage_both_ways():
    series = series_from_closes([100.0] * 6)
    want = np.array([True, True, False, False, False, False])

    run = simulate_long_signal(series, want, COSTS)

    assert run.trade_pnls[0] == pytest.approx(1_000.0 * (0.999 / 1.001) * 0.999 / 1.001 - 1_000.0)
    assert run.equity[-1] == pytest.approx(1_000.0 + run.trade_pnls[0])


def test_cash_never_trades():
    run = cash(series_from_closes([100.0, 90.0, 120.0]), COSTS)

    assert run.equity == [1_000.0] * 4 and run.trade_pnls == [] and run.fees_paid == 0.0


def test_sma_signal_matches_pandas_rolling_means():
    close = np.random.default_rng(3).normal(0, 1, 300).cumsum() + 100

    want = sma_signal(close, 20, 50)

    s = pd.Series(close)
    expected = (s.rolling(20).mean() > s.rolling(50).mean()).to_numpy().copy()
    expected[49] = False  # the first full slow average only warms up, as in backtesting.py
    assert (want == expected).all()


def test_sma_signal_refuses_a_fast_average_longer_than_the_slow_one():
    with pytest.raises(ValueError, match="must be shorter"):
        sma_signal(np.ones(100), 50, 20)


def test_a_baseline_round_trip_fills_exactly_as_the_paper_broker_fills_the_agent(tmp_path):
    series = series_from_closes([100.0, 103.7, 98.2, 99.0])
    want = np.array([True, False, False, False])
    ledger = Ledger(tmp_path / "ledger.sqlite", "run-1", initial_cash=COSTS.initial_cash)
    broker = PaperBroker(ledger, fee_rate=COSTS.fee_rate, slippage_bps=COSTS.slippage_bps)
    equity = []
    for t, side in ((1, Side.BUY), (2, Side.SELL)):
        broker.submit(mint(_all_in_order(side, series, t)))
        broker.on_candle("SYN/USDT", series.candle(t))
        equity.append(broker.portfolio.equity({"SYN/USDT": float(series.close[t])}))
    broker_trades = closed_trades(ledger.fills())
    ledger.close()

    run = simulate_long_signal(series, want, COSTS)

    assert run.equity[2:4] == equity  # after the buy, after the sell: to the last bit
    assert run.trade_pnls == [broker_trades[0].pnl]


def _all_in_order(side: Side, series, t: int) -> Order:
    """A market order for more than the account holds: the broker caps it at what it can."""
    return Order(
        client_order_id=f"o-{t}",
        symbol="SYN/USDT",
        side=side,
        type=OrderType.MARKET,
        quantity=1e6,
        reference_price=float(series.close[t - 1]),
        stop_price=None,
        created_ms=int(series.ts[t]),
    )
