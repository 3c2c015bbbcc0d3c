"""Secrets placed in the environment never reach a stored trace, lesson, log or report."""

import json

import pytest

from tests.agents.reference_model import RUN_ARGS, SCRIPTED_RUN_CASSETTE
from tests.cli import tradegraph

pytestmark = pytest.mark.slow  # A whole recorded run through the command line.

SECRET_KEY = "sk-ant-api03-THIS-IS-A-SECRET-0123456789abcdef"
SECRET_OTHER = "hunter2-exchange-secret-9f8e7d"


def test_secrets_in_the_environment_never_reach_any_stored_byte(tmp_path):
    data = tmp_path / "data"
    before = SCRIPTED_RUN_CASSETTE.read_bytes()
    env = {
        "ANTHROPIC_API_KEY": SECRET_KEY,
        "TRADEGRAPH_ANTHROPIC_API_KEY": SECRET_KEY,
        "BINANCE_API_SECRET": SECRET_OTHER,
    }

    result = tradegraph(
        "run", "--analyst", "anthropic", *RUN_ARGS, "--cassette", str(SCRIPTED_RUN_CASSETTE),
        "--data-dir", str(data), "--json", str(tmp_path / "out.json"), env=env,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["analyst"] == "anthropic" and summary["llm"]["requests"] > 60
    assert summary["memory"]["lessons_written"] >= 1
    written = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.name == "chroma.sqlite3" for p in written)
    for blob in [*(p.read_bytes() for p in written), (tmp_path / "out.json").read_bytes(),
                 result.stdout.encode(), result.stderr.encode()]:  # fmt: skip
        assert SECRET_KEY.encode() not in blob
        assert SECRET_OTHER.encode() not in blob
        assert b"sk-ant-api03" not in blob
    assert SCRIPTED_RUN_CASSETTE.read_bytes() == before
