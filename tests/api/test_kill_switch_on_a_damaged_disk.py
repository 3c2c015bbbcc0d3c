"""The kill switch on a damaged or tampered risk store, as an operator meets it: real processes.

A halt always engages (in the halt log when the store cannot be used), every run refuses to
start while the store and the log disagree, and every failure is one line with exit 2.
"""

import json
import sqlite3

import pytest

from tests.cli import assert_one_line_error, tradegraph

RUN = ("run", "--analyst", "offline", "--bars", "60", "--memory", "off", "-q")


def corrupt(path):
    path.write_bytes(b"\x00garbage, not SQLite\x00" * 200)


def test_halt_engages_on_a_corrupt_risk_store_and_runs_refuse(tmp_path):
    corrupt(tmp_path / "risk_state.sqlite")

    halted = tradegraph("risk", "halt", "--reason", "disk trouble", "--data-dir", str(tmp_path))
    run = tradegraph(*RUN, "--data-dir", str(tmp_path))
    status = tradegraph("risk", "status", "--data-dir", str(tmp_path))
    resumed = tradegraph("risk", "resume", "--reason", "x", "--data-dir", str(tmp_path))

    assert "HALTED every account (global kill switch) (recorded in the halt log only)" in (
        halted.stdout.replace("\n", " ")
    )
    assert_one_line_error(halted, "risk_state.sqlite", "the halt is recorded in halt_log.jsonl")
    log = [json.loads(line) for line in (tmp_path / "halt_log.jsonl").read_text().splitlines()]
    assert log[-1]["engaged"] is True and log[-1]["reason"] == "disk trouble"
    for result in (run, status, resumed):
        assert_one_line_error(result, "risk_state.sqlite", "move it aside")


@pytest.mark.slow
def test_a_store_moved_aside_keeps_runs_out_until_the_halt_is_resumed(tmp_path):
    corrupt(tmp_path / "risk_state.sqlite")
    tradegraph("risk", "halt", "--reason", "disk trouble", "--data-dir", str(tmp_path))
    (tmp_path / "risk_state.sqlite").rename(tmp_path / "risk_state.damaged")

    refused = tradegraph(*RUN, "--data-dir", str(tmp_path))
    resumed = tradegraph("risk", "resume", "--reason", "store rebuilt", "--data-dir", str(tmp_path))
    ran = tradegraph(*RUN, "--data-dir", str(tmp_path))

    assert_one_line_error(refused, "halted in the halt log", "tradegraph risk resume")
    assert resumed.returncode == 0, resumed.stderr
    assert ran.returncode == 0, ran.stderr


def test_a_latch_released_by_hand_in_sqlite_keeps_runs_out(tmp_path):
    data = str(tmp_path)
    tradegraph("risk", "halt", "--account", "desk", "--reason", "review", "--data-dir", data)
    db = sqlite3.connect(tmp_path / "risk_state.sqlite")
    with db:
        (raw,) = db.execute("SELECT value FROM kv WHERE key = 'risk/desk/kill_switch'").fetchone()
        record = json.loads(raw) | {"engaged": False}
        db.execute(
            "UPDATE kv SET value = ? WHERE key = 'risk/desk/kill_switch'", (json.dumps(record),)
        )
    db.close()

    run = tradegraph(*RUN, "--account", "desk", "--data-dir", data)
    status = tradegraph("risk", "status", "--data-dir", data, env={"COLUMNS": "300"})

    assert_one_line_error(run, "account desk is halted in the halt log", "says released")
    assert status.returncode == 1
    assert "no run can start: account desk is halted in the halt log" in status.stdout


def test_a_deleted_risk_store_keeps_runs_out_while_the_log_says_halted(tmp_path):
    data = str(tmp_path)
    tradegraph("risk", "halt", "--reason", "review", "--data-dir", data)
    for name in ("risk_state.sqlite", "risk_state.sqlite-wal", "risk_state.sqlite-shm"):
        (tmp_path / name).unlink(missing_ok=True)

    run = tradegraph(*RUN, "--data-dir", data)

    assert_one_line_error(run, "every account (global kill switch) is halted", "is missing")


def test_a_corrupt_ledger_does_not_stop_the_halt(tmp_path):
    corrupt(tmp_path / "ledger.sqlite")

    halted = tradegraph("risk", "halt", "--reason", "ledger trouble", "--data-dir", str(tmp_path))
    status = tradegraph("risk", "status", "--data-dir", str(tmp_path))

    assert "HALTED" in halted.stdout
    assert_one_line_error(halted, "ledger.sqlite", "no order was cancelled")
    assert "HALTED" in status.stdout
