"""The line under a run's summary that says a halt is why it traded nothing."""

from graphs.halt_notice import halt_notice
from graphs.summary import (
    BreakerTrip,
    MarketSummary,
    PerfSummary,
    RiskSummary,
    RunSummary,
    TraceStoreSummary,
)

GLOBAL_HALT = BreakerTrip(
    ts="2024-01-01T01:00:00Z",
    kind="halt",
    breaker="global_kill_switch",
    stage="halt",
    reason="engaged by manual at 2026-12-05T09:04Z: exchange incident (seen in the store)",
)


def summary(*, orders=0, state="HALTED", trips=(GLOBAL_HALT,), denials=None):
    return RunSummary(
        run_id="run-1",
        market=MarketSummary(
            source="synthetic:7",
            symbol="SYN/USDT",
            timeframe="1h",
            synthetic=True,
            first="2024-01-01T00:00:00Z",
            last="2024-01-09T07:00:00Z",
        ),
        analyst="offline",
        bars=200,
        decisions=200,
        orders=orders,
        fills=orders,
        denials=denials or {},
        equity_start=10_000.0,
        equity_final=10_000.0,
        total_return=0.0,
        buy_and_hold_return=-0.16,
        max_drawdown=0.0,
        fees_paid=0.0,
        trading_state=state,
        risk=RiskSummary(violations=0, denials=0, breaker_trips=trips, state=state),
        traces=200,
        trace_store=TraceStoreSummary(
            path="/tmp/chroma", collection="traces", run_id="run-1", chain_head="0" * 64
        ),
        perf=PerfSummary(wall_seconds=1.0, decisions_per_second=200.0, first_decision_seconds=0.1),
    )


def test_a_global_halt_names_the_switch_its_reason_and_the_resume_command():
    notice = halt_notice(summary())

    assert notice == (
        "no orders: the global kill switch is engaged (by manual at 2026-12-05T09:04Z: "
        'exchange incident): `tradegraph risk resume --reason "..."` lifts it'
    )


def test_an_unreadable_global_switch_record_gets_the_same_resume_hint():
    unreadable = BreakerTrip(
        ts="2024-01-01T01:00:00Z",
        kind="trip",
        breaker="store",
        stage="halt",
        reason="stored global_kill_switch record unreadable: Expecting value",
    )

    notice = halt_notice(summary(trips=(unreadable,)))

    assert notice is not None
    assert "global kill switch" in notice and "tradegraph risk resume" in notice


def test_a_global_halt_released_during_the_run_is_not_blamed():
    resumed = GLOBAL_HALT.model_copy(update={"kind": "resume", "reason": "released by manual"})
    account_halt = BreakerTrip(
        ts="2024-01-02T00:00:00Z",
        kind="trip",
        breaker="llm_budget",
        stage="halt",
        reason="budget spent",
    )

    notice = halt_notice(summary(trips=(GLOBAL_HALT, resumed, account_halt)))

    assert notice == (
        "no orders: trading was halted by llm_budget (budget spent): "
        '`tradegraph risk resume --reason "..."` lifts it'
    )


def test_a_run_refused_halted_without_a_recorded_trip_still_says_why():
    notice = halt_notice(summary(trips=(), denials={"HALTED": 200}))

    assert notice == (
        "no orders: 200 proposals were refused because trading was HALTED: "
        '`tradegraph risk resume --reason "..."` lifts it'
    )


def test_an_account_halt_names_the_account_to_resume():
    notice = halt_notice(summary(trips=(), denials={"HALTED": 3}).model_copy(
        update={"account": "alice"}
    ))  # fmt: skip

    assert notice is not None and "risk resume --account alice" in notice


def test_a_run_that_traded_or_was_never_halted_gets_no_line():
    assert halt_notice(summary(orders=3)) is None
    assert halt_notice(summary(state="ACTIVE", trips=())) is None
    assert halt_notice(summary(state="HALTED", trips=())) is None
