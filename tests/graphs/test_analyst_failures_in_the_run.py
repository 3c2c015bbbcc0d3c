"""Analyst failures inside a running session on 1h candles, one request an hour: the breaker
counts them in a row, the summary shows them, an analyst never reached stops the run."""

import numpy as np
import pytest

from agents.base import AnalystResult
from core.settings import Settings
from core.types import BreakerStage, MarketInfo, Proposal, TradingState
from graphs.analyst_watch import AnalystUnreachableError
from graphs.session import SessionPlan, run_session
from graphs.summary import iso
from tests.support import series_from_closes, stored_traces

ACTIVE, HALTED = TradingState.ACTIVE, TradingState.HALTED

INFO = MarketInfo(source="test", symbol="SYN/USDT", timeframe="1h", synthetic=True)
REFUSED = "APIConnectionError: Connection error: [Errno 111] Connection refused"


def _plan(tmp_path, bars=60, run_id="failing"):
    series = series_from_closes(100 * np.exp(np.linspace(0, 0.05, bars)))
    return SessionPlan(
        run_id=run_id, info=INFO, series=series, settings=Settings(), data_dir=tmp_path
    )


class BrokenAnalyst:
    """Raises on every cycle whose number is in `failing` (all of them by default)."""

    name = "broken"

    def __init__(self, failing=None):
        self.failing = failing
        self.calls = 0

    def propose(self, brief, research=None):
        self.calls += 1
        if self.failing is None or self.calls in self.failing:
            raise ValueError("analyst bug")
        return AnalystResult(proposal=Proposal.hold(brief.symbol, "nothing to do"))


class UnreachableAnalyst:
    """Fails as the Claude analyst does when nothing answers at the configured address."""

    name = "unreachable"

    def propose(self, brief, research=None):
        reason = f"LLM call failed ({REFUSED}): no proposal this cycle"
        return AnalystResult(
            proposal=Proposal.hold(brief.symbol, reason),
            error=REFUSED,
            error_kind="APIConnectionError",
        )


def test_three_hourly_failures_in_a_row_halt_where_the_window_never_would(tmp_path):
    summary = run_session(_plan(tmp_path), BrokenAnalyst())

    traces = stored_traces(tmp_path, "failing")
    trips = [t for t in summary.risk.breaker_trips if t.breaker == "error_rate"]
    assert summary.trading_state == "HALTED"
    assert len(trips) == 1
    assert trips[0].reason.startswith("3 analyst failures in a row without a success (limit 3")
    assert trips[0].ts == iso(traces[2].ts)
    assert [(e.kind, e.breaker, e.stage) for e in traces[2].breaker_events] == [
        ("trip", "error_rate", BreakerStage.HALT)
    ]
    assert traces[2].breaker_events[0].reason == trips[0].reason
    assert traces[2].trading_state is ACTIVE and traces[3].trading_state is HALTED
    assert [d.breaker for d in traces[3].breakers] == ["kill_switch"]
    assert summary.decisions == 60
    assert summary.errors.count == 60
    assert summary.errors.by_kind == {"ValueError": 60}
    assert summary.stopped is None and not summary.partial


def test_answers_between_failures_keep_the_account_active(tmp_path):
    every_third_answers = {n for n in range(1, 61) if n % 3}

    summary = run_session(_plan(tmp_path), BrokenAnalyst(failing=every_third_answers))

    assert summary.trading_state == "ACTIVE"
    assert summary.risk.breaker_trips == ()
    assert summary.errors.count == 40


def test_an_analyst_never_reached_stops_the_run_with_its_summary(tmp_path):
    with pytest.raises(AnalystUnreachableError) as stopped:
        run_session(_plan(tmp_path, run_id="unreachable"), UnreachableAnalyst())

    summary = stopped.value.summary
    assert str(stopped.value).startswith(f"the analyst could not be reached ({REFUSED})")
    assert summary.stopped == str(stopped.value)
    assert summary.partial
    assert summary.decisions == 3 and summary.traces == 3
    assert len(stored_traces(tmp_path, "unreachable")) == 3
    assert summary.errors.count == 3
    assert summary.errors.last.message == REFUSED
    assert summary.trading_state == "HALTED"
