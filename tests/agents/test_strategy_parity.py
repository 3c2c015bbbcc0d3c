"""Every toolbox strategy, run through the whole graph as an analyst, makes the trades its
vectorized backtest makes: the same entry and exit candles at the same fill prices."""

import numpy as np
import pytest

from agents.strategy_analyst import StrategyAnalyst
from core.market.series import CandleSeries
from evals.parity import session_trades
from graphs.session import run_session
from tests.evals.test_parity import PARITY_SETTINGS
from tools.strategies import STRATEGIES, get_strategy
from tools.strategies.partner import align_partner
from tools.vector_backtest import BacktestCosts, trade_signal

pytestmark = pytest.mark.slow  # a graph run per strategy

BARS = 700
PARAMS = {"pairs": {"window": 120}}
"""Where a default needs more candles than this test plays."""
SLIPPAGE_BPS = 5.0
SETTINGS = {
    **PARITY_SETTINGS,
    "execution": {"fee_rate": 0.001, "slippage_bps": SLIPPAGE_BPS},
    "memory": {"enabled": False},  # recall plays no part in a rule's decision
}


def _cointegrated_with(series, seed=22):
    """A partner market whose log price tracks the traded one's, apart by a mean-reverting
    spread (AR(1)): the pairs strategy's case."""
    rng = np.random.default_rng(seed)
    spread = np.zeros(len(series))
    for t in range(1, spread.size):
        spread[t] = 0.9 * spread[t - 1] + rng.normal(0, 0.01)
    factor = 0.5 * np.exp(spread)
    return CandleSeries(
        ts=series.ts.copy(),
        open=series.open * factor,
        high=series.high * factor,
        low=series.low * factor,
        close=series.close * factor,
        volume=series.volume.copy(),
    )


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_the_strategy_as_an_analyst_trades_as_its_vectorized_backtest(make_plan, name):
    strategy = get_strategy(name)
    plan = make_plan(bars=BARS, seed=21, **SETTINGS)
    partner = _cointegrated_with(plan.series) if strategy.needs_partner else None
    traces = []

    run_session(
        plan,
        StrategyAnalyst(name, PARAMS.get(name), partner=partner),
        on_cycle=lambda t, _: traces.append(t),
    )

    aligned = None if partner is None else align_partner(plan.series, partner)
    want = strategy.want(plan.series, strategy.params(**PARAMS.get(name, {})), aligned)
    vectorized = trade_signal(plan.series, want, BacktestCosts(slippage_bps=SLIPPAGE_BPS))
    graph = session_trades(traces, plan.series)
    assert len(graph) >= 2, f"{name} closed {len(graph)} trades in {BARS} candles"
    assert [t.entry_bar for t in graph] == vectorized.entries[: len(graph)].tolist()
    assert [t.exit_bar for t in graph] == vectorized.exits.tolist()[: len(graph)]
    np.testing.assert_allclose(
        [t.entry_price for t in graph], vectorized.entry_prices[: len(graph)], rtol=1e-12
    )
    np.testing.assert_allclose(
        [t.exit_price for t in graph], vectorized.exit_prices[: len(graph)], rtol=1e-12
    )
    assert len(graph) == vectorized.exits.size
