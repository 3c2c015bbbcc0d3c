"""GET /metrics over the real app on 127.0.0.1, after a real run in the data directory: the
figures agree with the run's own summary, counters do not double on a second scrape, and a
viewer's key is needed."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.api.server.operator_support import served_operator
from tests.api.server.server_support import ROLES, error_of, make_keys
from tests.cli import tradegraph


@pytest.fixture(scope="module")
def ran(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Any], dict[str, str]]:
    """A data directory after a 120-candle run of the stress analyst (with the served chat's
    text embedder), its summary, and a key of each role."""
    root = tmp_path_factory.mktemp("metrics")
    out = root / "summary.json"
    result = tradegraph(
        "run",
        "--analyst",
        "stress",
        "--bars",
        "120",
        "--data-dir",
        str(root),
        "--json",
        str(out),
        env={"TRADEGRAPH_MEMORY__EMBEDDING": "hashing"},
    )
    assert result.returncode == 0, result.stderr
    return root, json.loads(out.read_text()), make_keys(root)


def _samples(text: str) -> dict[str, list[Sample]]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _total(samples: list[Sample], suffix: str = "_total", **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name.endswith(suffix) and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_agree_with_the_runs_summary(
    ran: tuple[Path, dict[str, Any], dict[str, str]],
) -> None:
    root, summary, tokens = ran
    account = summary["account"]
    with served_operator(root) as served, served.client(tokens["viewer"]) as client:
        response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = _samples(response.text)
    assert _total(families["tradegraph_decisions"]) == summary["decisions"]
    assert {
        s.labels["code"]: s.value
        for s in families["tradegraph_denials"]
        if s.name.endswith("_total")
    } == summary["denials"]
    assert _total(families["tradegraph_fills"], "", account=account) == summary["fills"]
    orders = {s.labels["status"]: s.value for s in families["tradegraph_orders"]}
    assert orders == _ledger_orders_by_status(root)
    latency = families["tradegraph_cycle_latency_seconds"]
    assert _total(latency, "_count") == summary["decisions"]
    assert _total(latency, "_sum") > 0
    states = [s for s in families["tradegraph_breaker_state"] if s.labels["account"] == account]
    assert {s.labels["breaker"] for s in states} >= {"global_kill_switch", "kill_switch"}
    assert all(s.value in (0.0, 1.0) for s in states)
    (equity,) = [s for s in families["tradegraph_equity"] if s.labels["account"] == account]
    assert equity.value > 0


def _ledger_orders_by_status(root: Path) -> dict[str, float]:
    """The ledger's own count (the run's entries and the stops that filled)."""
    with closing(sqlite3.connect(root / "ledger.sqlite")) as db:
        rows = db.execute("SELECT status, count(*) FROM orders GROUP BY status").fetchall()
    return {status: float(count) for status, count in rows}


def test_a_second_scrape_counts_each_decision_once(
    ran: tuple[Path, dict[str, Any], dict[str, str]],
) -> None:
    root, summary, tokens = ran
    with served_operator(root) as served, served.client(tokens["viewer"]) as client:
        first = _samples(client.get("/metrics").text)
        second = _samples(client.get("/metrics").text)

    assert _total(first["tradegraph_decisions"]) == summary["decisions"]
    assert _total(second["tradegraph_decisions"]) == summary["decisions"]


def test_a_halt_shows_as_the_global_kill_switch_holding_every_account(
    ran: tuple[Path, dict[str, Any], dict[str, str]],
) -> None:
    root, summary, tokens = ran
    with served_operator(root) as served, served.client(tokens["admin"]) as client:
        client.post("/v1/risk/halt", json={"reason": "metrics test"})
        halted = _samples(client.get("/metrics").text)
        client.post("/v1/risk/resume", json={"reason": "metrics test over"})

    holding = {
        s.labels["account"]
        for s in halted["tradegraph_breaker_state"]
        if s.labels["breaker"] == "global_kill_switch" and s.value == 1.0
    }
    assert summary["account"] in holding


def test_metrics_need_a_key_and_any_role_reads_them(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served:
        with served.client() as client:
            refused = client.get("/metrics")
        statuses = {}
        for role in ROLES:
            with served.client(tokens[role]) as client:
                statuses[role] = client.get("/metrics").status_code

    assert error_of(refused)[:2] == (401, "missing_key")
    assert statuses == {"viewer": 200, "trader": 200, "admin": 200}
