"""Baselines fill like the paper broker: decided at a close, traded at the next open, with costs."""

import numpy as np
import pandas as pd
import pytest

from evals.baselines import Costs, buy_and_hold, cash, simulate_long_signal, sma_signal
from tests.support import series_from_closes

COSTS = Costs(initial_cash=1_000.0, fee_rate=0.001, slippage_bps=10.0)


def test_buy_and_hold_buys_at_the_second_open_with_slippage_and_fee():
    series = series_from_closes([100.0, 102.0, 105.0, 110.0])

    run = buy_and_hold(series, COSTS)

    price = series.open[1] * 1.001
    units = 1_000.0 / (price * 1.001)
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
