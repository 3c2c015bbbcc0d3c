"""The account book keeps accounts and run records alike on every backend (the `storage`
fixture: SQLite and PostgreSQL)."""

from __future__ import annotations

from core.accounts import AccountRecord, RunRecord
from core.backends import Storage


def _run(run_id: str, account: str = "alice", started_ms: int = 10) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        account=account,
        status="running",
        started_ms=started_ms,
        request={"symbols": ["BTC/USDT"], "bars": 3},
        breaker_state={"risk/alice/drawdown": '{"peak": 1.5}'},
    )


def test_an_account_keeps_the_cash_it_was_created_with(storage: Storage) -> None:
    book = storage.accounts()

    first = book.open_account("alice", 1_000.5, "USDT", 7)
    again = storage.accounts().open_account("alice", 99.0, "EUR", 8)

    assert (
        first
        == again
        == AccountRecord(name="alice", initial_cash=1_000.5, quote="USDT", created_ms=7)
    )
    book.open_account("bob", 2.0, "USDT", 9)
    assert [a.name for a in book.accounts()] == ["alice", "bob"]


def test_a_run_record_round_trips_and_counts_its_cycles(storage: Storage) -> None:
    book = storage.accounts()
    book.start_run(_run("r1"))

    book.count_cycles("r1", 41)
    book.set_status("r1", "finished")

    assert storage.accounts().run("r1") == _run("r1").model_copy(
        update={"cycles": 41, "status": "finished"}
    )
    assert book.run("absent") is None
    assert book.cycles_by_run() == {"r1": 41}


def test_unfinished_runs_are_an_accounts_running_ones_oldest_first(storage: Storage) -> None:
    book = storage.accounts()
    for run in (_run("late", started_ms=30), _run("early", started_ms=20), _run("b", "bob")):
        book.start_run(run)
    book.start_run(_run("done", started_ms=5))
    book.set_status("done", "finished")

    assert [r.run_id for r in book.unfinished("alice")] == ["early", "late"]
    book.check()
