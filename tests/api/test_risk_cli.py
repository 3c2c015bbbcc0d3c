"""`tradegraph risk halt|resume|status` as an operator uses it, in separate processes."""

import json
import sqlite3

import pytest

from tests.cli import assert_one_line_error, tradegraph


@pytest.mark.slow
def test_global_halt_shows_in_status_and_lifts_only_by_resume(tmp_path):
    data = str(tmp_path)

    halted = tradegraph("risk", "halt", "--reason", "exchange outage", "--data-dir", data)
    status = tradegraph("risk", "status", "--data-dir", data, env={"COLUMNS": "200"})
    resumed = tradegraph("risk", "resume", "--reason", "exchange back", "--data-dir", data)
    after = tradegraph("risk", "status", "--data-dir", data)

    assert halted.returncode == 0, halted.stderr
    assert "HALTED" in halted.stdout
    assert "HALTED" in status.stdout
    assert "exchange outage" in status.stdout
    assert resumed.returncode == 0, resumed.stderr
    assert "HALTED" not in after.stdout


def test_resume_needs_a_reason(tmp_path):
    result = tradegraph("risk", "resume", "--data-dir", str(tmp_path))

    assert_one_line_error(result, "--reason")


@pytest.mark.slow
def test_a_run_after_a_global_halt_sends_no_order_and_reports_it(tmp_path):
    out = tmp_path / "out.json"
    tradegraph("risk", "halt", "--data-dir", str(tmp_path))

    result = tradegraph(
        "run",
        "--analyst",
        "stress",
        "--bars",
        "200",
        "--data-dir",
        str(tmp_path),
        "--json",
        str(out),
        "-q",
    )

    summary = json.loads(out.read_text())
    assert result.returncode == 0, result.stderr
    assert summary["orders"] == 0
    assert summary["risk"]["state"] == "HALTED"
    assert summary["risk"]["violations"] == 0
    assert summary["denials"]["HALTED"] == 200
    notice = [line for line in result.stdout.splitlines() if line.startswith("no orders:")]
    assert len(notice) == 1, result.stdout
    assert notice[0].startswith("no orders: the global kill switch is engaged (by manual at ")
    assert notice[0].endswith(
        ': manual kill switch): `tradegraph risk resume --reason "..."` lifts it'
    )


@pytest.mark.slow
def test_halt_cancels_pending_orders_in_the_ledger(tmp_path):
    run = tradegraph(
        "run", "--analyst", "stress", "--bars", "120", "--data-dir", str(tmp_path), "-q"
    )
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    db.execute("UPDATE orders SET status = 'pending'")
    db.commit()

    result = tradegraph("risk", "halt", "--data-dir", str(tmp_path))

    pending = db.execute("SELECT COUNT(*) FROM orders WHERE status = 'pending'").fetchone()[0]
    assert run.returncode == 0
    assert result.returncode == 0
    assert "Cancelled" in result.stdout
    assert pending == 0


def test_status_of_an_unknown_account_is_one_line(tmp_path):
    result = tradegraph("risk", "status", "--account", "nobody", "--data-dir", str(tmp_path))

    assert_one_line_error(result, "nobody")


@pytest.mark.slow
def test_run_summary_reports_risk(tmp_path):
    out = tmp_path / "out.json"

    tradegraph("run", "--bars", "300", "--data-dir", str(tmp_path), "--json", str(out), "-q")

    risk = json.loads(out.read_text())["risk"]
    assert set(risk) >= {"violations", "denials", "breaker_trips", "state"}
    assert risk["violations"] == 0


def test_blank_reason_is_one_line(tmp_path):
    result = tradegraph("risk", "halt", "--reason", " ", "--data-dir", str(tmp_path))

    assert_one_line_error(result, "--reason")


@pytest.mark.slow
def test_halting_one_account_leaves_other_runs_orders_alone(tmp_path):
    tradegraph("run", "--analyst", "stress", "--bars", "120", "--data-dir", str(tmp_path), "-q")
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    db.execute("UPDATE orders SET status = 'pending'")
    db.commit()

    result = tradegraph(
        "risk", "halt", "--account", "replay:someone-else", "--data-dir", str(tmp_path)
    )

    pending = db.execute("SELECT COUNT(*) FROM orders WHERE status = 'pending'").fetchone()[0]
    assert result.returncode == 0, result.stderr
    assert pending > 0


@pytest.fixture(scope="module")
def desk_and_replay(tmp_path_factory):
    """A data directory holding a live account (desk-1, halted) and one finished replay."""
    data = tmp_path_factory.mktemp("accounts")
    out = data / "run.json"
    run = tradegraph("run", "--bars", "60", "--data-dir", str(data), "--json", str(out), "-q")
    halt = tradegraph(
        "risk", "halt", "--account", "desk-1", "--reason", "audit", "--data-dir", str(data)
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert halt.returncode == 0, halt.stderr
    return data, json.loads(out.read_text())["run_id"]


def test_status_lists_live_accounts_and_hides_the_per_run_ones(desk_and_replay):
    data, run_id = desk_and_replay

    result = tradegraph("risk", "status", "--data-dir", str(data))

    assert result.returncode == 0, result.stderr
    assert "desk-1" in result.stdout and "audit" in result.stdout
    assert run_id not in result.stdout
    assert "1 replay account(s) hidden" in result.stdout


def test_status_all_lists_the_per_run_accounts_whole_on_a_narrow_terminal(desk_and_replay):
    data, run_id = desk_and_replay

    result = tradegraph("risk", "status", "--all", "--data-dir", str(data), env={"COLUMNS": "30"})

    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert f"replay:{run_id}" in names and "desk-1" in names, result.stdout
    assert "…" not in result.stdout and "hidden" not in result.stdout


def test_status_of_one_replay_account_by_its_full_id(desk_and_replay):
    data, run_id = desk_and_replay

    result = tradegraph("risk", "status", "--account", f"replay:{run_id}", "--data-dir", str(data))

    assert result.returncode == 0, result.stderr
    assert f"replay:{run_id}" in result.stdout
    assert "desk-1" not in result.stdout


def _served_agent(server_dir, name: str, account: str):
    """A served agent's data directory, as `POST /v1/agents` leaves it: its pulse says which
    account it trades (a finished agent: no process is needed to halt its switch)."""
    from graphs.agent.pulse import AgentPulse, AgentSpec, write_pulse

    root = server_dir / "served_agents" / name
    root.mkdir(parents=True)
    spec = AgentSpec(market="synthetic:42", symbols=("SYN/USDT",), timeframe="1h", account=account)
    pulse = AgentPulse(
        name=name, spec=spec, pid=1, phase="finished", run_id="r", started_ms=0,
        heartbeat_ms=0, heartbeat_seconds=60.0,
    )  # fmt: skip
    write_pulse(root, pulse)
    return root


def test_a_cli_halt_reaches_the_served_agents_and_status_says_so(tmp_path):
    held = _served_agent(tmp_path, "held", "agent-held")

    halt = tradegraph("risk", "halt", "--reason", "exchange outage", "--data-dir", str(tmp_path))
    theirs = tradegraph("risk", "status", "--data-dir", str(held), env={"COLUMNS": "200"})
    ours = tradegraph("risk", "status", "--data-dir", str(tmp_path), env={"COLUMNS": "200"})
    resume = tradegraph("risk", "resume", "--reason", "back", "--data-dir", str(tmp_path))
    after = tradegraph("risk", "status", "--data-dir", str(held), env={"COLUMNS": "200"})

    assert halt.returncode == 0, halt.stderr
    assert "Also halted: served agent(s) held" in halt.stdout
    assert "HALTED" in theirs.stdout and "exchange outage" in theirs.stdout
    assert "held  global kill switch HALTED" in ours.stdout
    assert resume.returncode == 0, resume.stderr
    assert "HALTED" not in after.stdout


def test_a_cli_halt_of_an_account_reaches_only_the_agent_trading_it(tmp_path):
    held = _served_agent(tmp_path, "held", "agent-held")
    other = _served_agent(tmp_path, "other", "agent-other")

    halt = tradegraph(
        "risk", "halt", "--account", "agent-held", "--reason", "one account",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    ours = tradegraph("risk", "status", "--data-dir", str(tmp_path), env={"COLUMNS": "200"})
    theirs = tradegraph("risk", "status", "--data-dir", str(other), env={"COLUMNS": "200"})
    account = tradegraph(
        "risk", "status", "--account", "agent-held", "--data-dir", str(held),
        env={"COLUMNS": "200"},
    )  # fmt: skip

    assert halt.returncode == 0, halt.stderr
    assert "account agent-held HALTED" in ours.stdout
    assert "other  global kill switch ACTIVE" in ours.stdout
    assert "HALTED" not in theirs.stdout
    assert "HALTED" in account.stdout


def test_an_account_halt_reaches_a_served_agent_whose_pulse_cannot_be_read(tmp_path):
    held = _served_agent(tmp_path, "held", "agent-held")
    (held / "agents" / "held.json").write_text("{not json")

    halt = tradegraph(
        "risk", "halt", "--account", "agent-held", "--reason", "pulse damaged",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    ours = tradegraph("risk", "status", "--data-dir", str(tmp_path), env={"COLUMNS": "200"})

    assert halt.returncode == 0, halt.stderr
    assert "Also halted: served agent(s) held" in halt.stdout
    assert "account agent-held HALTED" in ours.stdout
