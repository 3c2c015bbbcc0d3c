"""The vectorized backtest fills exactly as the candle-by-candle baselines fill."""

import numpy as np
import pytest

from evals.baselines import Costs, simulate_long_signal
from tests.conftest import needs_shared
from tests.support import series_from_closes
from tools.strategies import get_strategy
from tools.vector_backtest import BacktestCosts, trade_signal


def _recorded_btc():
    from core.market.source import MarketRequest, open_market
    from tests.conftest import SHARED

    _, series = open_market(
        MarketRequest(
            spec=str(SHARED / "markets" / "binance-2023"), symbol="BTC/USDT", timeframe="1h"
        )
    )
    return series


def _same(series, want, slippage_bps=5.0):
    ours = trade_signal(series, want, BacktestCosts(slippage_bps=slippage_bps))
    theirs = simulate_long_signal(series, want, Costs(10_000.0, 0.001, slippage_bps))
    assert np.array_equal(ours.equity, np.asarray(theirs.equity))
    assert ours.entries.tolist() == theirs.entries
    assert ours.exits.tolist() == theirs.exits
    assert ours.trade_pnls.tolist() == theirs.trade_pnls
    assert ours.bars_exposed == theirs.bars_exposed
    assert ours.traded_notional == theirs.traded_notional
    assert ours.fees_paid == theirs.fees_paid
    return ours


@needs_shared
def test_the_crossover_on_a_real_year_equals_the_candle_by_candle_baseline_to_the_bit():
    series = _recorded_btc()
    strategy = get_strategy("ma_crossover")

    run = _same(series, strategy.want(series, strategy.params()))

    assert run.exits.size > 50


@pytest.mark.parametrize("slippage_bps", [0.0, 5.0, 25.0])
def test_a_random_signal_equals_the_baseline_while_equity_lasts(slippage_bps):
    rng = np.random.default_rng(4)
    series = series_from_closes(np.cumprod(1 + rng.normal(0, 0.01, 3_000)) * 100)
    want = rng.random(3_000) < 0.9  # long most of the time: few, long trades, equity survives

    run = _same(series, want, slippage_bps)

    assert run.exits.size > 100


def test_a_signal_of_the_wrong_length_is_refused_with_the_lengths():
    series = series_from_closes(np.linspace(100, 110, 50))

    with pytest.raises(ValueError, match="49 values for 50 candles"):
        trade_signal(series, np.ones(49, dtype=bool))


def test_never_long_keeps_the_cash_and_always_long_buys_at_the_second_open():
    series = series_from_closes(np.linspace(100, 200, 10))

    flat = trade_signal(series, np.zeros(10, dtype=bool))
    held = trade_signal(series, np.ones(10, dtype=bool))

    assert flat.equity.tolist() == [10_000.0] * 11
    assert held.entries.tolist() == [1] and held.exits.size == 0
    assert held.bars_exposed == 9
