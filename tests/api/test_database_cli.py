"""The CLI on a PostgreSQL ledger: runs write there, and a URL that cannot be used is one line
that never shows the password."""

from __future__ import annotations

import json

import psycopg

from tests.cli import assert_one_line_error, tradegraph

UNREACHABLE = "postgresql://u:secret@127.0.0.1:1/x"


def _run_on(url, data_dir):
    """A short synthetic run whose ledger is the database at `url`."""
    return tradegraph(
        "run", "--market", "synthetic:5", "--bars", "50", "--data-dir", str(data_dir),
        env={"TRADEGRAPH_DATABASE_URL": url},
    )  # fmt: skip


def test_an_unreachable_database_is_one_line_naming_the_host_without_the_password(tmp_path):
    result = _run_on(UNREACHABLE, tmp_path)

    assert_one_line_error(result, "127.0.0.1:1", "TRADEGRAPH_DATABASE_URL")
    assert "secret" not in result.stdout + result.stderr
    assert not (tmp_path / "ledger.sqlite").exists()


def test_an_unknown_role_is_one_line_without_the_password(tmp_path, postgres_server):
    url = postgres_server.url_for("postgres").replace("//", "//nobody:hunter2@", 1)
    url = url.replace("@tradegraph@", "@")

    result = _run_on(url, tmp_path)

    assert_one_line_error(result, "nobody:***@", "check TRADEGRAPH_DATABASE_URL")
    assert "hunter2" not in result.stdout + result.stderr


def test_config_shows_the_url_with_its_password_masked(tmp_path):
    result = tradegraph("config", env={"TRADEGRAPH_DATABASE_URL": UNREACHABLE}, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["database_url"] == "postgresql://u:***@127.0.0.1:1/x"
    assert "secret" not in result.stdout


def test_a_run_on_postgresql_keeps_its_ledger_and_run_record_there(tmp_path, database_url):
    result = tradegraph(
        "run",
        "--market",
        "synthetic:5",
        "--bars",
        "120",
        "--analyst",
        "stress",
        "--data-dir",
        str(tmp_path),
        env={"TRADEGRAPH_DATABASE_URL": database_url},
    )

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "ledger.sqlite").exists()
    assert not (tmp_path / "risk_state.sqlite").exists()
    with psycopg.connect(database_url) as conn:
        (runs,) = conn.execute("SELECT count(*) FROM runs WHERE status = 'finished'").fetchone()
        (orders,) = conn.execute("SELECT count(*) FROM orders").fetchone()
    assert runs == 1
    assert orders > 0
