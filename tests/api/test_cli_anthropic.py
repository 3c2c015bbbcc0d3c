"""`tradegraph run --analyst anthropic` as a user runs it: from a scripted cassette without a
key, and against an Anthropic-compatible server at ANTHROPIC_BASE_URL (a local one on 127.0.0.1
answering like the scripted model)."""

import json
from pathlib import Path

import pytest

from tests.agents.reference_model import RUN_ARGS, SCRIPTED_RUN_CASSETTE
from tests.agents.scripted_server import scripted_anthropic_server
from tests.cli import assert_one_line_error, tradegraph

pytestmark = pytest.mark.slow  # Every test here runs the command line over a cassette.

LLM_KEYS = {
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "cost_usd",
}


def test_anthropic_run_replays_its_scripted_cassette_without_a_key(tmp_path):
    out = tmp_path / "summary.json"

    result = tradegraph(
        "run", "--analyst", "anthropic", *RUN_ARGS, "--cassette", str(SCRIPTED_RUN_CASSETTE),
        "--data-dir", str(tmp_path / "data"), "--json", str(out), "--quiet",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    summary = json.loads(out.read_text())
    llm = summary["llm"]
    assert set(llm) == LLM_KEYS
    assert llm["requests"] == SCRIPTED_RUN_CASSETTE.read_text().count("- request:")
    assert llm["cache_read_tokens"] > llm["input_tokens"] > 0
    assert llm["cost_usd"] > 0
    assert summary["analyst"] == "anthropic" and summary["orders"] > 0
    assert summary["risk"]["violations"] == 0
    assert "LLM" in result.stdout


def test_offline_run_reports_zero_llm_use(tmp_path):
    out = tmp_path / "summary.json"

    result = tradegraph(
        "run", "--bars", "80", "--data-dir", str(tmp_path), "--json", str(out), "--quiet"
    )

    assert result.returncode == 0, result.stderr
    summary = json.loads(out.read_text())
    assert summary["analyst"] == "offline"
    assert summary["llm"] == dict.fromkeys(LLM_KEYS, 0) | {"cost_usd": 0.0}


def test_replay_that_leaves_its_recording_stops_naming_the_request(tmp_path):
    longer = ("--market", "synthetic:5", "--bars", "130")

    result = tradegraph(
        "run", "--analyst", "anthropic", *longer, "--cassette", str(SCRIPTED_RUN_CASSETTE),
        "--data-dir", str(tmp_path), "--quiet",
        env={"TRADEGRAPH_ANTHROPIC__MAX_RETRIES": "0"},
    )  # fmt: skip

    assert_one_line_error(result, "cassette has no answer for LLM request #", "POST /v1/messages")


def test_missing_cassette_without_a_key_is_one_line(tmp_path):
    result = tradegraph(
        "run", "--analyst", "anthropic", "--cassette", str(tmp_path / "none.yaml"),
        "--data-dir", str(tmp_path),
    )  # fmt: skip

    assert_one_line_error(result, "does not exist", "ANTHROPIC_API_KEY")


def test_cassette_needs_the_anthropic_analyst(tmp_path):
    result = tradegraph(
        "run", "--analyst", "offline", "--cassette", str(SCRIPTED_RUN_CASSETTE),
        "--data-dir", str(tmp_path),
    )  # fmt: skip

    assert_one_line_error(result, "--cassette", "--analyst anthropic")


@pytest.fixture
def compatible_server():
    with scripted_anthropic_server() as (url, seen):
        yield url, seen


def test_anthropic_base_url_is_honoured_and_the_key_reaches_no_file(tmp_path, compatible_server):
    url, seen = compatible_server
    key = "sk-ant-local-secret-0123456789"
    data = tmp_path / "data"

    result = tradegraph(
        "run", *RUN_ARGS, "--data-dir", str(data), "--json", str(tmp_path / "s.json"), "--quiet",
        env={"ANTHROPIC_API_KEY": key, "ANTHROPIC_BASE_URL": url},
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "s.json").read_text())["analyst"] == "anthropic"
    assert seen and all(s["path"] == "/v1/messages" for s in seen)
    carrying = {k.lower() for k, v in seen[0]["headers"].items() if key in v}
    assert carrying and carrying <= {"authorization", "x-api-key"}
    leaked = [p for p in Path(data).rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert leaked == []
    assert key not in result.stdout + result.stderr


def test_a_cassette_recorded_with_a_key_replays_the_same_run_without_one(
    tmp_path, compatible_server
):
    url, seen = compatible_server
    tape = tmp_path / "recorded.yaml"
    args = ("run", "--analyst", "anthropic", *RUN_ARGS, "--cassette", str(tape), "--quiet")

    recorded = tradegraph(
        *args, "--data-dir", str(tmp_path / "a"), "--json", str(tmp_path / "a.json"),
        env={"ANTHROPIC_API_KEY": "sk-ant-local-secret-42", "ANTHROPIC_BASE_URL": url},
    )  # fmt: skip
    calls_while_recording = len(seen)
    replayed = tradegraph(
        *args, "--data-dir", str(tmp_path / "b"), "--json", str(tmp_path / "b.json")
    )

    assert recorded.returncode == 0, recorded.stderr
    assert replayed.returncode == 0, replayed.stderr
    assert len(seen) == calls_while_recording > 0
    first, second = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    for key in ("orders", "fills", "equity_final", "total_return", "llm", "denials"):
        assert first[key] == second[key], key
    assert "sk-ant-local-secret-42" not in tape.read_text()
