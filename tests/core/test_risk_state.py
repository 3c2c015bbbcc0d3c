"""The risk store and its halt log agree, or no run starts."""

import json
import sqlite3

import pytest

from core.risk_state import HEAD_KEY, LatchMismatchError, RiskState, check_latches
from core.storage import StateStoreError

KEY = "risk/alice/kill_switch"


def record(engaged: bool, since_ms: int = 1, by: str = "manual") -> str:
    return json.dumps(
        {"engaged": engaged, "reason": "test", "since_ms": since_ms, "by": by, "flatten": False}
    )


def halted_state(root) -> RiskState:
    state = RiskState(root)
    state.put(KEY, record(True))
    return state


def test_a_halt_goes_to_the_log_and_the_store(tmp_path):
    state = halted_state(tmp_path)

    logged = state.log.read()

    assert logged.last[KEY].engaged is True
    assert state.get(HEAD_KEY) == logged.head
    check_latches(state)  # agreeing: no refusal


def test_a_latch_released_by_hand_in_sqlite_is_refused(tmp_path):
    halted_state(tmp_path).close()
    db = sqlite3.connect(tmp_path / "risk_state.sqlite")
    with db:
        db.execute("UPDATE kv SET value = ? WHERE key = ?", (record(False), KEY))
    db.close()

    with pytest.raises(LatchMismatchError, match="account alice is halted in the halt log"):
        check_latches(RiskState(tmp_path))


def test_a_deleted_store_is_refused_while_the_log_says_halted(tmp_path):
    halted_state(tmp_path).close()
    (tmp_path / "risk_state.sqlite").unlink()

    with pytest.raises(LatchMismatchError, match=r"risk_state\.sqlite is missing"):
        check_latches(RiskState(tmp_path))


def test_a_resume_on_the_record_lets_runs_start_again(tmp_path):
    halted_state(tmp_path).close()
    (tmp_path / "risk_state.sqlite").unlink()
    state = RiskState(tmp_path)

    state.put(KEY, record(False, since_ms=9))

    check_latches(state)
    assert state.log.read().events == 2


def test_a_deleted_log_is_refused_when_the_store_mirrors_its_head(tmp_path):
    halted_state(tmp_path).close()
    (tmp_path / "halt_log.jsonl").unlink()

    with pytest.raises(LatchMismatchError, match=r"halt log .* is missing"):
        check_latches(RiskState(tmp_path))


def test_a_store_halted_where_the_log_says_released_is_the_safe_side(tmp_path):
    state = RiskState(tmp_path)
    state.store.put(KEY, record(True))  # as a crash between the two writes of a resume leaves

    check_latches(state)


def test_removing_a_kill_switch_record_is_logged_as_a_release(tmp_path):
    state = halted_state(tmp_path)

    state.delete(KEY)

    assert state.log.read().last[KEY].engaged is False
    check_latches(state)


def test_a_store_that_is_not_a_database_is_one_clear_error(tmp_path):
    (tmp_path / "risk_state.sqlite").write_bytes(b"this is not a database" * 100)
    state = RiskState(tmp_path)

    with pytest.raises(StateStoreError, match="restore it from a backup, or move it aside"):
        check_latches(state)


def test_a_halt_is_logged_even_when_the_store_cannot_be_written(tmp_path):
    (tmp_path / "risk_state.sqlite").write_bytes(b"this is not a database" * 100)
    state = RiskState(tmp_path)

    with pytest.raises(StateStoreError):
        state.put(KEY, record(True))

    assert state.log.read().last[KEY].engaged is True


def test_a_halt_whose_postgresql_record_was_removed_behind_its_back_is_refused(
    tmp_path, database_url
):
    from core.backends import Storage

    store = Storage(tmp_path, database_url).state_store("risk_state")
    state = RiskState(tmp_path, store)
    state.put(KEY, record(True))
    check_latches(state)  # agreeing: no refusal
    store.delete(KEY)  # by hand, bypassing the halt log

    with pytest.raises(LatchMismatchError, match=r"account alice is halted .* risk_state in post"):
        check_latches(
            RiskState(tmp_path, Storage(tmp_path, database_url).state_store("risk_state"))
        )
