"""Accounts outlive runs; a run that was stopped or killed carries on exactly (invariant 6)."""

from __future__ import annotations

import dataclasses
import re
import sqlite3

import pytest

from agents.offline import OfflineAnalyst
from agents.stress import StressAnalyst
from core.backends import storage_for
from core.errors import UserError
from graphs.session import run_session
from tests.support import stored_traces


class KilledAtError(Exception):
    pass


def _kill_at(cycle: int):
    def observe(trace, held):
        if trace.seq == cycle:
            raise KilledAtError

    return observe


def _ledger_rows(data_dir, table: str) -> list[tuple]:
    db = sqlite3.connect(data_dir / "ledger.sqlite")
    try:
        return db.execute(f"SELECT client_order_id, body FROM {table} ORDER BY rowid").fetchall()
    finally:
        db.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> dict[str, str]:
    """Settings for a data directory on each backend (PostgreSQL: a database of its own)."""
    if request.param == "sqlite":
        return {}
    return {"database_url": request.getfixturevalue("database_url")}


@pytest.mark.slow
def test_a_resumed_run_ends_exactly_where_an_uninterrupted_one_does(make_plan):
    whole = run_session(make_plan(bars=400, run_id="whole", trace_batch_size=16), StressAnalyst())
    plan = make_plan(bars=400, run_id="crashed", trace_batch_size=16)
    with pytest.raises(KilledAtError):
        run_session(plan, StressAnalyst(), on_cycle=_kill_at(233))

    resumed = run_session(plan, StressAnalyst(), resume=True)

    assert whole.orders > 5  # the comparison below is about real trading
    assert resumed.resumed_from is not None and resumed.resumed_from > 0
    assert (resumed.orders, resumed.fills) == (whole.orders, whole.fills)
    assert resumed.equity_final == whole.equity_final
    assert resumed.decisions == whole.decisions == 400
    traces = stored_traces(plan.data_dir, "crashed")
    assert [t.seq for t in traces] == list(range(400))
    orders = [b for _, b in _ledger_rows(plan.data_dir, "orders")]
    whole_orders = [b for _, b in _ledger_rows(whole_dir(make_plan), "orders")]
    assert [_masked(o, "whole") for o in whole_orders] == [_masked(o, "crashed") for o in orders]


def _masked(body: str, run_id: str) -> str:
    """A replay's client ids hash its run id, so two runs name the same order apart."""
    return re.sub(r"tg-[0-9a-f]{29}", "tg-ORDER", body.replace(run_id, "X"))


def whole_dir(make_plan):
    return make_plan(bars=400, run_id="whole").data_dir


def test_resume_refuses_a_finished_run(make_plan):
    plan = make_plan(bars=60, run_id="done")
    run_session(plan, OfflineAnalyst())

    with pytest.raises(UserError, match="finished"):
        run_session(plan, OfflineAnalyst(), resume=True)


def test_resume_refuses_a_run_that_now_decides_differently(make_plan):
    plan = make_plan(bars=300, run_id="changed", trace_batch_size=8)
    with pytest.raises(KilledAtError):
        run_session(plan, StressAnalyst(), on_cycle=_kill_at(150))
    other_data = dataclasses.replace(plan, series=make_plan(bars=300, seed=99).series)

    with pytest.raises(Exception, match="decides differently"):
        run_session(other_data, StressAnalyst(), resume=True)


def test_an_account_carries_its_positions_into_the_next_run(make_plan, backend):
    first = make_plan(bars=200, run_id="first", seed=5, **backend)
    first = dataclasses.replace(first, account="alice")
    storage = storage_for(first.settings, first.data_dir)
    summary = run_session(first, StressAnalyst())
    ledger = storage.ledger("alice", 10_000.0)
    held_after_first = ledger.portfolio
    ledger.close()
    second = dataclasses.replace(first, run_id="second", series=make_plan(bars=50, seed=6).series)

    again = run_session(second, OfflineAnalyst())

    assert summary.fills > 0
    assert again.account == "alice"
    assert again.equity_start == pytest.approx(held_after_first.equity({}))
    reopened = storage.ledger("alice", 10_000.0)
    assert len(reopened.fills()) >= summary.fills  # the account's fills span both runs
    reopened.close()


def test_a_new_run_on_an_account_with_a_killed_run_is_refused(make_plan, backend):
    plan = dataclasses.replace(make_plan(bars=120, run_id="killed", **backend), account="bob")
    book = storage_for(plan.settings, plan.data_dir).accounts()  # the ledger exists before
    with pytest.raises(KilledAtError):
        run_session(plan, OfflineAnalyst(), on_cycle=_kill_at(30))
    book.set_status("killed", "running")  # as after SIGKILL
    book.close()

    with pytest.raises(UserError, match="--resume killed"):
        run_session(dataclasses.replace(plan, run_id="next"), OfflineAnalyst())


def test_a_manual_halt_survives_a_resume(make_plan, backend):
    from risk.breakers import BreakerBoard

    plan = make_plan(bars=150, run_id="halted", trace_batch_size=8, **backend)
    with pytest.raises(KilledAtError):
        run_session(plan, StressAnalyst(), on_cycle=_kill_at(100))
    store = storage_for(plan.settings, plan.data_dir).state_store("risk_state")
    BreakerBoard(store, "replay:halted", plan.settings.breakers).halt("operator", 1)

    with pytest.raises(Exception, match="decides differently"):
        run_session(plan, StressAnalyst(), resume=True)
    assert BreakerBoard(store, "replay:halted", plan.settings.breakers).status().state.value == (
        "HALTED"
    )
