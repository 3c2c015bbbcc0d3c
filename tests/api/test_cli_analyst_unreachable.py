"""`tradegraph run` with a key and an analyst it cannot reach, as a user meets it: the real
SDK against a closed port on 127.0.0.1, or a server refusing the key. The run stops with one
line and exit 2, and still leaves its summary, its traces and a closed ledger."""

import json
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.agents.reference_model import RUN_ARGS
from tests.cli import assert_one_line_error, tradegraph

KEY = "sk-ant-api03-unreachable-test-0123456789"
FAST = {"TRADEGRAPH_ANTHROPIC__MAX_RETRIES": "0", "TRADEGRAPH_ANTHROPIC__TIMEOUT_SECONDS": "5"}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _assert_no_key_anywhere(tmp_path: Path, *texts: str) -> None:
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaked == []
    assert all(KEY not in text for text in texts)


def test_an_unreachable_analyst_stops_the_run_with_one_line(tmp_path):
    data, out = tmp_path / "data", tmp_path / "summary.json"
    url = f"http://127.0.0.1:{_closed_port()}"

    result = tradegraph(
        "run", *RUN_ARGS, "--data-dir", str(data), "--json", str(out), "--quiet",
        env={"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": url, **FAST},
    )  # fmt: skip

    assert_one_line_error(
        result,
        "the analyst could not be reached (APIConnectionError: Connection error:",
        "Connection refused",
        "after 3 attempts",
        "ANTHROPIC_BASE_URL",
        "--analyst offline",
    )
    summary = json.loads(out.read_text())
    assert summary["partial"] and summary["stopped"] in result.stderr
    assert summary["decisions"] < 120 and summary["traces"] == summary["decisions"]
    assert summary["errors"]["count"] == 3
    assert summary["errors"]["by_kind"] == {"APIConnectionError": 3}
    assert "Connection refused" in summary["errors"]["last"]["message"]
    assert summary["llm"]["requests"] == 3
    assert summary["trading_state"] == "HALTED"
    assert [t["breaker"] for t in summary["risk"]["breaker_trips"]] == ["error_rate"]
    assert "Analyst errors" in result.stdout
    verified = tradegraph("audit", "verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{summary['decisions']} traces, chain intact" in verified.stdout
    with sqlite3.connect(data / "ledger.sqlite") as ledger:
        assert ledger.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    _assert_no_key_anywhere(tmp_path, result.stdout, result.stderr)


class _RefusesTheKey(BaseHTTPRequestHandler):
    requests = 0

    def do_POST(self):
        type(self).requests += 1
        self.rfile.read(int(self.headers["content-length"]))
        error = {"type": "authentication_error", "message": "invalid x-api-key"}
        payload = json.dumps({"type": "error", "error": error}).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        return


@pytest.fixture
def refusing_server():
    handler = type("Handler", (_RefusesTheKey,), {"requests": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_a_refused_key_stops_the_run_at_the_first_request(tmp_path, refusing_server):
    url, handler = refusing_server
    out = tmp_path / "summary.json"

    result = tradegraph(
        "run", *RUN_ARGS, "--data-dir", str(tmp_path / "data"), "--json", str(out), "--quiet",
        env={"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": url, **FAST},
    )  # fmt: skip

    assert_one_line_error(
        result,
        "the analyst's API key was refused (AuthenticationError 401: invalid x-api-key)",
        "check ANTHROPIC_API_KEY",
    )
    assert handler.requests == 1
    summary = json.loads(out.read_text())
    assert summary["errors"]["by_kind"] == {"AuthenticationError": 1}
    _assert_no_key_anywhere(tmp_path, result.stdout, result.stderr)


def test_failures_in_a_row_limit_below_one_is_refused_at_start(tmp_path):
    (tmp_path / "tradegraph.toml").write_text("[breakers]\nerror_consecutive = 0\n")

    result = tradegraph("run", "--bars", "100", "--data-dir", str(tmp_path), cwd=tmp_path)

    assert_one_line_error(result, "breakers.error_consecutive")
