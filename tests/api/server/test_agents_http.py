"""/v1/agents against the real app over a socket: a trader starts an agent on the synthetic
market (a real `tradegraph agent start` process), a viewer sees it with its heartbeat, the
trader stops it; the roles, and the mistakes, one line each."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from core.operator_audit import OperatorAudit
from tests.api.server.operator_support import served_operator
from tests.api.server.server_support import error_of, make_keys
from tests.cli import tradegraph

PLAYED = {"market": "synthetic:42", "symbol": "SYN/USDT", "timeframe": "1h", "speed": 3600.0}


@pytest.fixture(autouse=True)
def _offline_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agents' processes read the environment: the offline analyst, the quick embedder."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("TRADEGRAPH_MEMORY__EMBEDDING", "hashing")


def _until_decided(client: httpx.Client, name: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        agent = client.get(f"/v1/agents/{name}").json()
        if agent["decisions"] > 0:
            return agent
        time.sleep(0.1)
    raise AssertionError(f"agent {name} made no decision in time")


@pytest.mark.slow  # a real tradegraph process
def test_a_trader_starts_an_agent_a_viewer_sees_its_heartbeat_and_the_trader_stops_it(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with (
        served_operator(tmp_path) as served,
        served.client(tokens["trader"]) as trader,
        served.client(tokens["viewer"]) as viewer,
    ):
        started = trader.post("/v1/agents", json={"name": "demo", **PLAYED, "bars": 500})
        assert started.status_code == 200, started.text
        decided = _until_decided(viewer, "demo")
        listed = viewer.get("/v1/agents").json()["agents"]
        stopped = trader.post("/v1/agents/demo/stop", json={"timeout_s": 60})

    assert started.status_code == 200, started.text
    assert started.json()["broker"] == "paper" and started.json()["account"] == "agent-demo"
    assert started.json()["data_dir"] == str(tmp_path.resolve() / "served_agents" / "demo")
    assert [a["name"] for a in listed] == ["demo"]
    assert listed[0]["state"] == "running" and listed[0]["heartbeat_age_s"] < 30
    assert decided["symbols"] == ["SYN/USDT"] and decided["last_decision"]
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["state"] == "stopped"
    audited = [
        (a.actor, a.path, a.status, a.detail.get("agent")) for a in OperatorAudit(tmp_path).read()
    ]
    assert audited == [
        ("trader", "/v1/agents", 200, "demo"),
        ("trader", "/v1/agents/demo/stop", 200, "demo"),
    ]


def test_a_viewer_cannot_start_or_stop_an_agent(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["viewer"]) as viewer:
        start = viewer.post("/v1/agents", json={"name": "demo", **PLAYED})
        stop = viewer.post("/v1/agents/demo/stop")
        listed = viewer.get("/v1/agents")

    assert error_of(start)[:2] == (403, "role_too_low")
    assert error_of(stop)[:2] == (403, "role_too_low")
    assert listed.status_code == 200 and listed.json() == {"agents": []}
    assert not (tmp_path / "served_agents").exists()
    audited = [(a.actor, a.path, a.status) for a in OperatorAudit(tmp_path).read()]
    assert audited == [("viewer", "/v1/agents", 403), ("viewer", "/v1/agents/demo/stop", 403)]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/agents"), ("GET", "/v1/agents/demo"), ("POST", "/v1/agents"),
     ("POST", "/v1/agents/demo/stop")],
)  # fmt: skip
def test_no_key_is_401_on_every_agents_route(tmp_path: Path, method: str, path: str) -> None:
    with served_operator(tmp_path) as served, served.client() as anonymous:
        response = anonymous.request(method, path, json={"name": "demo"})

    assert error_of(response)[:2] == (401, "missing_key")


def test_live_trading_needs_an_admins_key(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    body = {"name": "live", **PLAYED, "broker": "live", "live_confirmed": True}
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as trader:
        response = trader.post("/v1/agents", json=body)

    status, code, message = error_of(response)
    assert (status, code) == (403, "role_too_low") and "live trading" in message


@pytest.mark.slow  # a real tradegraph process
def test_live_trading_without_the_settings_mode_is_refused_in_one_line(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    body = {"name": "live", **PLAYED, "broker": "live", "live_confirmed": True}
    with served_operator(tmp_path) as served, served.client(tokens["admin"]) as admin:
        response = admin.post("/v1/agents", json=body)

    status, code, message = error_of(response)
    assert (status, code) == (422, "agent_refused") and "live" in message


@pytest.mark.slow  # a real tradegraph process
def test_a_market_that_does_not_exist_is_422_with_the_clis_line(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    body = {"name": "lost", "market": "nowhere.csv", "symbol": "SYN/USDT", "timeframe": "1h"}
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as trader:
        response = trader.post("/v1/agents", json=body)
        listed = trader.get("/v1/agents").json()["agents"]

    status, code, message = error_of(response)
    assert (status, code) == (422, "agent_refused") and "nowhere.csv" in message
    assert listed == []


def test_an_unknown_agent_is_404_naming_the_known_ones(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as trader:
        status = trader.get("/v1/agents/ghost")
        stop = trader.post("/v1/agents/ghost/stop")

    assert error_of(status)[:2] == (404, "unknown_agent")
    assert error_of(stop)[:2] == (404, "unknown_agent") and "ghost" in error_of(stop)[2]


def test_a_bad_agent_name_is_422_in_one_line(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as trader:
        response = trader.post("/v1/agents", json={"name": "../escape", **PLAYED})

    status, code, message = error_of(response)
    assert (status, code) == (422, "invalid_request") and message.startswith("name:")


@pytest.mark.slow  # a real tradegraph process
def test_a_value_that_looks_like_an_option_stays_a_value(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    body = {"name": "sly", "market": "--data-dir=/tmp", "symbol": "SYN/USDT", "timeframe": "1h"}
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as trader:
        response = trader.post("/v1/agents", json=body)

    status, code, message = error_of(response)
    assert (status, code) == (422, "agent_refused") and "--data-dir=/tmp" in message


@pytest.mark.slow  # a real tradegraph process
def test_the_cli_halts_a_served_agents_account_on_its_data_dir_and_the_list_shows_it(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as trader:
        started = trader.post("/v1/agents", json={"name": "held", **PLAYED, "bars": 500})
        data_dir = started.json()["data_dir"]
        halt = tradegraph("risk", "halt", "--account", "agent-held", "--data-dir", data_dir)
        halted = trader.get("/v1/agents/held").json()
        stopped = trader.post("/v1/agents/held/stop", json={"timeout_s": 60})

    assert halt.returncode == 0, halt.stderr
    assert halted["state"] == "halted"
    assert stopped.json()["state"] == "stopped"


def test_no_agent_starts_while_the_servers_global_kill_switch_holds(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    halt = tradegraph("risk", "halt", "--data-dir", str(tmp_path))
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as trader:
        response = trader.post("/v1/agents", json={"name": "late", **PLAYED})
        listed = trader.get("/v1/agents").json()["agents"]

    assert halt.returncode == 0, halt.stderr
    status, code, message = error_of(response)
    assert (status, code) == (409, "trading_halted")
    assert "halted" in message and "tradegraph risk resume" in message
    assert listed == []


@pytest.mark.slow  # a real tradegraph process
def test_a_halt_over_http_reaches_a_served_agent_and_a_resume_releases_it(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with (
        served_operator(tmp_path) as served,
        served.client(tokens["admin"]) as admin,
    ):
        admin.post("/v1/agents", json={"name": "held", **PLAYED, "bars": 500})
        halt = admin.post("/v1/risk/halt", json={"reason": "exchange outage"})
        halted = admin.get("/v1/agents/held").json()["state"]
        resume = admin.post("/v1/risk/resume", json={"reason": "exchange back"})
        resumed = admin.get("/v1/agents/held").json()["state"]
        account_halt = admin.post(
            "/v1/risk/halt", json={"reason": "one account", "account": "agent-held"}
        )
        account_halted = admin.get("/v1/agents/held").json()["state"]
        admin.post("/v1/risk/resume", json={"reason": "ok", "account": "agent-held"})
        stopped = admin.post("/v1/agents/held/stop", json={"timeout_s": 60})

    assert halt.status_code == 200 and halt.json()["problems"] == [], halt.text
    assert halted == "halted" and resumed in ("starting", "running"), resume.text
    assert account_halt.status_code == 200 and account_halted == "halted"
    assert stopped.json()["state"] == "stopped"
