"""The risk controls inside the running cycle: a crash under the stress analyst, the kill switch."""

import numpy as np
import pytest

from agents.stress import StressAnalyst
from core.market.source import MarketRequest, open_market
from core.settings import Settings
from core.storage import SqliteStateStore
from core.types import InstrumentRules, MarketInfo
from graphs.session import SessionPlan, run_session
from memory.store import open_chroma, vector_collection
from memory.traces import load_run
from risk.breakers import halt_all
from tests.support import SHARED, series_from_closes

CRASH_1M = SHARED / "markets" / "binance-2021-05-crash-1m"


def _plan(tmp_path, series, info=None, run_id="crash"):
    info = info or MarketInfo(source="test", symbol="SYN/USDT", timeframe="1h", synthetic=True)
    return SessionPlan(
        run_id=run_id, info=info, series=series, settings=Settings(), data_dir=tmp_path
    )


def _worst_candle_move(series) -> float:
    """Largest fall within one candle, from its open (or the previous close) to its low."""
    reference = np.maximum(series.open, np.concatenate([[series.open[0]], series.close[:-1]]))
    return float(np.max(1.0 - series.low / reference))


def _stage_order(summary) -> list[str]:
    order = []
    for trip in summary.risk.breaker_trips:
        if trip.breaker != "drawdown":
            continue
        for stage in ("size cut", "reducing", "halt"):
            if stage in trip.reason and stage not in order:
                order.append(stage)
    return order


def _assert_crash_contained(summary, series, tmp_path, run_id):
    limit = Settings().breakers.drawdown_halt
    assert summary.risk.violations == 0, summary.risk.violation_examples
    assert summary.trading_state == "HALTED"
    assert _stage_order(summary) == ["size cut", "reducing", "halt"]
    fees_and_slippage = 0.01
    assert summary.max_drawdown <= limit + _worst_candle_move(series) + fees_and_slippage
    traces = load_run(vector_collection(open_chroma(tmp_path), "traces"), run_id)
    halted_for_good = 1 + max(t.seq for t in traces if t.trading_state != "HALTED")
    after = traces[halted_for_good:]
    assert not any(t.order and t.order["side"] == "buy" for t in after)
    assert any(t.flatten and t.order for t in after), "the halt should flatten the position"
    assert after[-1].equity == pytest.approx(summary.equity_final)


def test_scripted_crash_trips_every_stage_in_order_and_flattens(tmp_path):
    rise = 100 * np.exp(np.linspace(0, 0.2, 150))
    crash = rise[-1] * np.exp(np.linspace(0, -0.6, 120))
    series = series_from_closes(np.concatenate([rise, crash]))

    summary = run_session(_plan(tmp_path, series), StressAnalyst())

    _assert_crash_contained(summary, series, tmp_path, "crash")


@pytest.mark.skipif(
    not CRASH_1M.exists(),
    reason="../shared/markets is absent: recorded-market tests need it beside the project",
)
def test_may_2021_crash_with_the_stress_analyst_stays_within_the_hard_stop(tmp_path):
    info, series = open_market(
        MarketRequest(
            spec=str(CRASH_1M),
            symbol="BTC/USDT",
            timeframe="1m",
            start="2021-05-18T12:00",
            end="2021-05-20T00:00",
        )
    )

    summary = run_session(_plan(tmp_path, series, info, run_id="may19"), StressAnalyst())

    _assert_crash_contained(summary, series, tmp_path, "may19")


def test_global_kill_switch_stops_every_order_of_a_new_session(tmp_path):
    halt_all(SqliteStateStore(tmp_path / "risk_state.sqlite"), "operator says stop", 0)
    series = series_from_closes(100 * np.exp(np.linspace(0, 0.2, 150)))

    summary = run_session(_plan(tmp_path, series, run_id="after-halt"), StressAnalyst())

    assert summary.orders == 0
    assert summary.trading_state == "HALTED"
    assert summary.denials["HALTED"] > 0


def test_exchange_rules_of_the_market_reach_the_validator(tmp_path):
    rules = InstrumentRules(min_notional=1e9)
    info = MarketInfo(source="test", symbol="SYN/USDT", timeframe="1h", synthetic=True, rules=rules)
    series = series_from_closes(100 * np.exp(np.linspace(0, 0.2, 150)))

    summary = run_session(_plan(tmp_path, series, info, run_id="rules"), StressAnalyst())

    assert summary.orders == 0
    assert summary.denials["BELOW_MIN_NOTIONAL"] > 0
