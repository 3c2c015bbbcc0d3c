"""`tradegraph run` as a user drives the engine: portfolios, accounts, SIGTERM, --resume, your
own analyst, and the crash test of DESIGN.md invariant 6."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests import zygote
from tests.cli import assert_one_line_error, tradegraph
from tests.conftest import SHARED, needs_shared

CLIENT_ID = re.compile(r"tg-[0-9a-f]{29}")
DEV_1H = SHARED / "markets" / "binance-2020-09_2021-10"


def _runs(data_dir: Path) -> list[tuple[str, str, int]]:
    path = data_dir / "ledger.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(path, timeout=5)
    try:
        return db.execute("SELECT run_id, status, cycles FROM runs ORDER BY started_ms").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def _orders_and_fills(data_dir: Path, run_id: str) -> tuple[list[str], list[str]]:
    db = sqlite3.connect(data_dir / "ledger.sqlite")
    try:
        orders = [
            r[0]
            for r in db.execute(
                "SELECT body FROM orders WHERE run_id = ? ORDER BY rowid", (run_id,)
            )
        ]
        fills = [
            r[0]
            for r in db.execute("SELECT body FROM fills WHERE run_id = ? ORDER BY rowid", (run_id,))
        ]
    finally:
        db.close()
    return [_masked(o, run_id) for o in orders], [_masked(f, run_id) for f in fills]


def _masked(body: str, run_id: str) -> str:
    """Client ids hash the run id (a replay's scope), so two runs name the same order apart."""
    return CLIENT_ID.sub("tg-ORDER", body.replace(run_id, "RUN"))


def _start(*args: str, env: dict | None = None) -> zygote.PipedProcess:
    """`tradegraph ARGS` in a process of its own, forked with its imports done (so a kill
    lands in the run, not in Python's start-up)."""
    environment = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    environment.update(env or {})
    return zygote.popen(list(args), env=environment, cwd=None)


def _wait_for_cycles(process: zygote.ForkedProcess, data_dir: Path, cycles: int) -> bool:
    """True once the run has counted `cycles` cycles; False if the process ended first."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = _runs(data_dir)
        if runs and runs[-1][2] >= cycles:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.02)
    raise AssertionError("the run did not progress within 5 minutes")


@needs_shared
@pytest.mark.slow
def test_a_portfolio_run_trades_several_symbols_on_one_account(tmp_path):
    out = tmp_path / "out.json"

    result = tradegraph(
        "run", "--market", str(DEV_1H), "--symbol", "BTC/USDT,ETH/USDT,SOL/USDT",
        "--timeframe", "4h", "--bars", "500", "--data-dir", str(tmp_path / "data"),
        "--json", str(out), "--quiet",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    summary = json.loads(out.read_text())
    assert [s["symbol"] for s in summary["symbols"]] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert summary["decisions"] == 1500
    assert all(s["decisions"] == 500 for s in summary["symbols"])
    assert summary["orders"] == sum(s["orders"] for s in summary["symbols"]) > 0
    hold = [s["buy_and_hold_return"] for s in summary["symbols"]]
    assert summary["buy_and_hold_return"] == pytest.approx(sum(hold) / 3)
    assert summary["risk"]["violations"] == 0
    assert "Per symbol" in result.stdout


def test_symbol_lists_with_mistakes_get_one_line(tmp_path):
    twice = tradegraph("run", "--symbol", "SYN/USDT,SYN/USDT", "--data-dir", str(tmp_path))
    empty = tradegraph("run", "--symbol", "SYN/USDT,,X", "--data-dir", str(tmp_path))

    assert_one_line_error(twice, "names a symbol twice")
    assert_one_line_error(empty, "empty name")


@pytest.mark.slow
def test_sigterm_stops_between_cycles_keeps_every_trace_and_can_be_resumed(tmp_path):
    data = tmp_path / "data"
    process = _start("run", "--market", "synthetic:4", "--bars", "3000", "--data-dir", str(data),
                     "--quiet")  # fmt: skip
    assert _wait_for_cycles(process, data, 50)

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 143, stderr
    assert "stopped by SIGTERM" in stdout and "--resume" in stdout
    run_id, status, cycles = _runs(data)[-1]
    assert status == "interrupted" and 50 <= cycles < 3000
    verify = tradegraph("audit", "verify", "--run", run_id, "--data-dir", str(data))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"{cycles} traces" in verify.stdout
    resumed = tradegraph("run", "--resume", run_id, "--data-dir", str(data), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert _runs(data)[-1][1:] == ("finished", 3000)


def test_resume_with_other_options_or_an_unknown_run_gets_one_line(tmp_path):
    unknown = tradegraph("run", "--resume", "nope", "--data-dir", str(tmp_path))
    mixed = tradegraph("run", "--resume", "nope", "--bars", "5", "--data-dir", str(tmp_path))

    assert_one_line_error(unknown, "no run nope")
    assert_one_line_error(mixed, "drop --bars")


def test_your_own_analyst_class_is_loaded_and_checked(tmp_path):
    package = tmp_path / "mine"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "analysts.py").write_text(
        "from agents.base import AnalystResult\n"
        "from core.types import Proposal\n"
        "class AlwaysHold:\n"
        "    name = 'always-hold'\n"
        "    def propose(self, brief, research=None):\n"
        "        return AnalystResult(proposal=Proposal.hold(brief.symbol, 'mine'))\n"
        "class NotAnAnalyst:\n"
        "    pass\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}
    data = str(tmp_path / "data")

    ok = tradegraph("run", "--analyst", "mine.analysts:AlwaysHold", "--bars", "60",
                    "--data-dir", data, "--quiet", env=env)  # fmt: skip
    wrong = tradegraph("run", "--analyst", "mine.analysts:NotAnAnalyst", "--data-dir", data,
                       env=env)  # fmt: skip
    missing = tradegraph("run", "--analyst", "nowhere.at_all:Thing", "--data-dir", data)

    assert ok.returncode == 0, ok.stderr
    assert "always-hold" in ok.stdout
    assert_one_line_error(wrong, "is not an analyst")
    assert_one_line_error(missing, "cannot import nowhere.at_all")


@pytest.mark.slow
def test_killed_thirty_times_a_replay_ends_as_if_never_interrupted(tmp_path):
    """SIGKILL at 30 random points, each followed by --resume; compared with a run that was
    never interrupted: the same orders, fills and final equity, and the chain verifies."""
    args = ["--market", "synthetic:21", "--bars", "600", "--analyst", "stress", "--quiet"]
    env = {"TRADEGRAPH_TRACE_BATCH_SIZE": "24"}
    whole_dir, crash_dir = tmp_path / "whole", tmp_path / "crash"
    whole = tradegraph("run", *args, "--data-dir", str(whole_dir), "--json",
                       str(tmp_path / "whole.json"), env=env)  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    rng = random.Random(6)
    points = sorted(rng.sample(range(1, 600), 30))
    process = _start("run", *args, "--data-dir", str(crash_dir), env=env)
    kills = 0
    for point in points:
        if not _wait_for_cycles(process, crash_dir, point):
            break
        process.kill()
        process.wait()
        kills += 1
        run_id = _runs(crash_dir)[-1][0]
        process = _start("run", "--resume", run_id, "--data-dir", str(crash_dir), env=env)
    process.communicate(timeout=600)
    assert process.returncode == 0
    run_id = _runs(crash_dir)[-1][0]
    whole_run = _runs(whole_dir)[-1][0]

    assert kills == 30
    assert _runs(crash_dir)[-1][1:] == ("finished", 600)
    assert _orders_and_fills(crash_dir, run_id) == _orders_and_fills(whole_dir, whole_run)
    assert len(_orders_and_fills(whole_dir, whole_run)[1]) > 10
    final = tradegraph("run", "--resume", run_id, "--data-dir", str(crash_dir))
    assert_one_line_error(final, "finished")
    verify = tradegraph("audit", "verify", "--run", run_id, "--data-dir", str(crash_dir))
    assert verify.returncode == 0 and "600 traces" in verify.stdout, verify.stdout
    whole_summary = json.loads((tmp_path / "whole.json").read_text())
    again = tradegraph("run", *args, "--data-dir", str(tmp_path / "again"), "--json",
                       str(tmp_path / "again.json"), env=env)  # fmt: skip
    assert again.returncode == 0
    assert (
        json.loads((tmp_path / "again.json").read_text())["equity_final"]
        == (whole_summary["equity_final"])
    )
    equity = _final_equity(crash_dir, run_id)
    assert equity == whole_summary["equity_final"]


def _final_equity(data_dir: Path, run_id: str) -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.support import stored_traces

    return stored_traces(data_dir, run_id)[-1].equity


def _set_cycles(data_dir: Path, run_id: str, cycles: int) -> None:
    db = sqlite3.connect(data_dir / "ledger.sqlite")
    db.execute("UPDATE runs SET cycles = ? WHERE run_id = ?", (cycles, run_id))
    db.commit()
    db.close()


def test_verify_tells_a_chain_whose_tail_a_killed_run_never_wrote(tmp_path):
    from memory.spool import TraceSpool

    data = tmp_path / "data"
    assert tradegraph("run", "--bars", "60", "--data-dir", str(data), "--quiet").returncode == 0
    run_id, _, cycles = _runs(data)[-1]
    _set_cycles(data, run_id, cycles + 20)  # as after SIGKILL: counted, never written

    killed = tradegraph("audit", "verify", "--run", run_id, "--data-dir", str(data))
    live_spool = TraceSpool(data / "spool", run_id)  # the lock a live run holds
    try:
        live = tradegraph("audit", "verify", "--run", run_id, "--data-dir", str(data))
    finally:
        live_spool.release()
    _set_cycles(data, run_id, cycles)
    complete = tradegraph("audit", "verify", "--run", run_id, "--data-dir", str(data))

    assert cycles == 60
    assert killed.returncode == 1, killed.stdout
    assert "INCOMPLETE" in killed.stdout and "its last 20 were never written" in killed.stdout
    assert f"--resume {run_id}" in killed.stdout and "altered" not in killed.stdout
    assert live.returncode == 0 and "still buffered by the live run" in live.stdout
    assert complete.returncode == 0 and "chain intact" in complete.stdout
