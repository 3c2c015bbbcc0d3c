"""Parity: the crossover as an analyst, through the whole graph, trades as backtesting.py does."""

import dataclasses

import pytest

from agents.sma_cross import SmaCrossAnalyst
from evals.parity import backtesting_trades, session_trades
from graphs.session import run_session

pytestmark = pytest.mark.slow  # Thousands of candles through the graph and backtesting.py.

PARITY_SETTINGS = {
    # The same assumptions on both sides: no slippage, the taker fee on each leg, all in,
    # no stop; the breakers are set out of reach so that they never stop an entry.
    "execution": {"fee_rate": 0.001, "slippage_bps": 0.0},
    "risk": {
        "max_position_fraction": 1.0,
        "max_gross_exposure": 1.0,
        "max_order_notional": 1e12,
        "require_stop_loss": False,
        "min_confidence": 0.5,
        "max_orders_per_day": 10_000,
    },
    "breakers": {
        "drawdown_reduce_size": 0.90,
        "drawdown_reducing": 0.95,
        "drawdown_halt": 0.99,
        "daily_loss_limit": 0.99,
        "max_consecutive_losses": 1000,  # the highest the settings accept
        "jump_sigma": 1000.0,  # likewise
    },
}


def test_the_crossover_analyst_makes_the_same_trades_as_backtesting_py(make_plan):
    plan = make_plan(bars=2500, seed=3, **PARITY_SETTINGS)
    traces = []

    run_session(plan, SmaCrossAnalyst(20, 50), on_cycle=lambda t, _: traces.append(t))

    ours = session_trades(traces, plan.series)
    theirs = backtesting_trades(plan.series, fast=20, slow=50, commission=0.001)
    assert len(ours) > 20
    assert [(t.entry_bar, t.exit_bar) for t in ours] == [(t.entry_bar, t.exit_bar) for t in theirs]
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.entry_price == pytest.approx(reference.entry_price, rel=1e-9)
        assert mine.exit_price == pytest.approx(reference.exit_price, rel=1e-9)


def test_the_crossover_analyst_matches_the_sma_baseline(make_plan):
    from evals.baselines import Costs, sma_crossover

    plan = make_plan(bars=1500, seed=8, **PARITY_SETTINGS)
    traces = []
    run_session(plan, SmaCrossAnalyst(20, 50), on_cycle=lambda t, _: traces.append(t))

    baseline = sma_crossover(plan.series, Costs(10_000.0, 0.001, 0.0))
    ours = session_trades(traces, plan.series)

    assert len(ours) > 10
    assert [t.entry_bar for t in ours] == baseline.entries[: len(ours)]
    assert [t.exit_bar for t in ours] == baseline.exits[: len(ours)]
    assert dataclasses.is_dataclass(ours[0])
