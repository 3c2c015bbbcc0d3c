"""/v1/evals against the real app over a socket: a trader starts a short evaluation of the
synthetic market as a background job, polls it to its end, fetches its report.json and
report.html; the roles, and the mistakes, one line each."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from core.operator_audit import OperatorAudit
from tests.api.server.operator_support import served_operator
from tests.api.server.server_support import error_of, make_keys


@pytest.fixture(autouse=True)
def _offline_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The jobs' processes read the environment: the quick embedder."""
    monkeypatch.setenv("TRADEGRAPH_MEMORY__EMBEDDING", "hashing")


def _until_done(client: httpx.Client, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/v1/evals/{job_id}").json()
        if job["state"] != "running":
            return job
        time.sleep(0.2)
    raise AssertionError(f"evaluation {job_id} did not finish in time")


@pytest.mark.slow  # a real tradegraph process
def test_a_trader_starts_an_eval_polls_it_to_its_end_and_fetches_its_reports(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with (
        served_operator(tmp_path) as served,
        served.client(tokens["trader"]) as trader,
        served.client(tokens["viewer"]) as viewer,
    ):
        started = trader.post("/v1/evals", json={"days": 3, "analyst": "strategy:bollinger"})
        job_id = started.json()["job_id"]
        done = _until_done(viewer, job_id)
        listed = viewer.get("/v1/evals").json()["jobs"]
        as_json = viewer.get(f"/v1/evals/{job_id}/report.json")
        as_html = viewer.get(f"/v1/evals/{job_id}/report.html")

    assert started.status_code == 202, started.text
    assert started.json()["state"] == "running" and started.json()["candles"] == 72
    assert done["state"] == "finished", done
    assert done["done"] == done["candles"] and done["progress"] == 1.0
    assert [job["job_id"] for job in listed] == [job_id]
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    assert as_json.json()["metrics"] == done["summary"]["metrics"]
    assert as_html.status_code == 200 and as_html.headers["content-type"].startswith("text/html")
    assert "<html" in as_html.text.lower()
    (action,) = OperatorAudit(tmp_path).read()
    assert (action.actor, action.path, action.status) == ("trader", "/v1/evals", 202)
    assert action.detail == {"job_id": job_id}


def test_a_viewer_cannot_start_an_eval_but_lists_them(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["viewer"]) as viewer:
        start = viewer.post("/v1/evals", json={"days": 3})
        listed = viewer.get("/v1/evals")

    assert error_of(start)[:2] == (403, "role_too_low")
    assert listed.status_code == 200 and listed.json() == {"jobs": []}


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/evals"), ("GET", "/v1/evals"), ("GET", "/v1/evals/eval-1"),
     ("GET", "/v1/evals/eval-1/report.json"), ("GET", "/v1/evals/eval-1/report.html")],
)  # fmt: skip
def test_no_key_is_401_on_every_evals_route(tmp_path: Path, method: str, path: str) -> None:
    with served_operator(tmp_path) as served, served.client() as anonymous:
        response = anonymous.request(method, path, json={"days": 3})

    assert error_of(response)[:2] == (401, "missing_key")


@pytest.mark.parametrize("job_id", ["eval-nothing", "..%2F..%2Fsecrets", "x"])
def test_an_unknown_eval_is_404(tmp_path: Path, job_id: str) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["viewer"]) as viewer:
        status = viewer.get(f"/v1/evals/{job_id}")
        report = viewer.get(f"/v1/evals/{job_id}/report.json")

    assert error_of(status)[0] == 404 and error_of(report)[0] == 404


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"market": "binance.csv"}, "market: "),
        ({"analyst": "anthropic"}, "use offline, stress or strategy:NAME"),
        ({"days": 0}, "days: "),
        ({"start": "2020-01-01", "end": "2020-01-01", "timeframe": "1d"}, "fewer than 2 candles"),
    ],
)
def test_a_bad_eval_request_is_422_in_one_line(tmp_path: Path, body: dict, said: str) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as trader:
        response = trader.post("/v1/evals", json=body)
        listed = trader.get("/v1/evals").json()["jobs"]

    status, _code, message = error_of(response)
    assert status == 422 and said in message, message
    assert listed == []


SUITE = """
[suite]
name = "http"
workers = 1
compare = false

[[markets]]
market = "synthetic:3"
bars = 120

[[configs]]
name = "offline"

[[configs]]
name = "bollinger"
analyst = "strategy:bollinger"
"""


@pytest.mark.slow  # a real tradegraph process
def test_a_suite_runs_as_a_job_polled_to_its_end_with_its_combined_reports(
    tmp_path: Path,
) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    (tmp_path / "data").mkdir()
    tokens = make_keys(tmp_path / "data")
    with (
        served_operator(tmp_path / "data") as served,
        served.client(tokens["trader"]) as trader,
    ):
        started = trader.post("/v1/evals", json={"suite": str(suite)})
        job_id = started.json()["job_id"]
        done = _until_done(trader, job_id)
        listed = trader.get("/v1/evals").json()["jobs"]
        as_json = trader.get(f"/v1/evals/{job_id}/report.json")
        as_html = trader.get(f"/v1/evals/{job_id}/report.html")

    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "suite" and started.json()["jobs"] == 2
    assert done["state"] == "finished" and done["done"] == 2 and done["progress"] == 1.0, done
    assert [job["job_id"] for job in listed] == [job_id]
    assert as_json.json()["suite"] == "http" and len(as_json.json()["rows"]) == 2
    assert as_html.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"suite": "missing.toml"}, "suite file missing.toml not found"),
        ({"suite": "suite.toml", "days": 3}, "days: a suite names its markets"),
        ({"suite": "/dev/zero"}, "suite file /dev/zero not found"),
        ({"suite": "a\u0000.toml"}, "not found"),
    ],
)
def test_a_bad_suite_request_is_refused_in_one_line(tmp_path: Path, body: dict, said: str) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as trader:
        response = trader.post("/v1/evals", json=body)
        listed = trader.get("/v1/evals").json()["jobs"]

    status, _code, message = error_of(response)
    assert status == 422 and said in message, message
    assert listed == []
