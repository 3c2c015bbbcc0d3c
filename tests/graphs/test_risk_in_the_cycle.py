"""The risk controls inside the running cycle: a crash under the stress analyst, the kill switch."""

import numpy as np
import pytest

from agents.base import AnalystResult
from agents.stress import StressAnalyst
from core.market.source import MarketRequest, open_market
from core.settings import Settings
from core.storage import SqliteStateStore
from core.types import (
    Action,
    BreakerLimits,
    BreakerStage,
    InstrumentRules,
    MarketInfo,
    Proposal,
    RiskLimits,
    Side,
    TradingState,
)
from graphs.session import SessionPlan, run_session
from risk.breakers import halt_all
from tests.support import SHARED, series_from_closes, stored_traces

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


def _stage_order(summary) -> list[BreakerStage]:
    order = []
    for trip in summary.risk.breaker_trips:
        if trip.breaker == "drawdown" and trip.stage not in order:
            order.append(trip.stage)
    return order


STAGES = [BreakerStage.SIZE_CUT, BreakerStage.REDUCING, BreakerStage.HALT]
HALTED = TradingState.HALTED


def _traces(tmp_path, run_id):
    return stored_traces(tmp_path, run_id)


class AllInWithoutStops:
    """Buys the most the brief allows, never sets a stop, never sells: only the breakers can
    save this account (the run lifts the stop requirement and the per-trade risk cap)."""

    name = "all-in"

    def propose(self, brief, research=None):
        if brief.max_buy_fraction <= 0:
            return AnalystResult(proposal=Proposal.hold(brief.symbol, "no room"))
        proposal = Proposal(
            action=Action.BUY,
            symbol=brief.symbol,
            size_fraction=brief.max_buy_fraction,
            confidence=1.0,
            thesis="all in",
        )
        return AnalystResult(proposal=proposal)


@pytest.mark.slow
def test_scripted_crash_trips_every_stage_in_order_halts_and_flattens(tmp_path):
    rise = 100 * np.exp(np.linspace(0, 0.2, 150))
    crash = rise[-1] * np.exp(np.linspace(0, -0.6, 120))
    series = series_from_closes(np.concatenate([rise, crash]))
    settings = Settings(
        risk=RiskLimits(require_stop_loss=False, risk_per_trade=1.0),
        breakers=BreakerLimits(daily_loss_limit=0.5, max_consecutive_losses=50),
    )
    base = _plan(tmp_path, series)
    plan = SessionPlan(base.run_id, base.info, base.series, settings, base.data_dir)

    summary = run_session(plan, AllInWithoutStops())

    limit = settings.breakers.drawdown_halt
    assert summary.risk.violations == 0, summary.risk.violation_examples
    assert _stage_order(summary) == STAGES
    assert summary.trading_state == "HALTED"
    assert summary.max_drawdown <= limit + _worst_candle_move(series) + 0.01
    traces = _traces(tmp_path, "crash")
    halted_for_good = 1 + max(t.seq for t in traces if t.trading_state is not HALTED)
    after = traces[halted_for_good:]
    assert after, "the run should end halted"
    assert not any(t.order and t.order.side is Side.BUY for t in after)
    assert any(t.flatten and t.order for t in after), "the halt should flatten the position"
    assert traces[-1].equity == pytest.approx(summary.equity_final)


@pytest.mark.slow
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

    limit = Settings().breakers.drawdown_halt
    assert summary.risk.violations == 0, summary.risk.violation_examples
    stages = _stage_order(summary)
    assert stages, "the crash should trip the drawdown breaker's first stage at least"
    assert stages == STAGES[: len(stages)]
    assert summary.max_drawdown <= limit + _worst_candle_move(series) + 0.01
    traces = _traces(tmp_path, "may19")
    blocked = [t for t in traces if t.trading_state is not TradingState.ACTIVE]
    assert blocked, "the crash should trip at least one breaker"
    assert not any(t.order and t.order.side is Side.BUY for t in blocked)


@pytest.mark.slow
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
