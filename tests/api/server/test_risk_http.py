"""/v1/risk over the real app on 127.0.0.1: who may read and change what, limits validated as
the settings are and kept for the next run, and halt/resume on the CLI's latched switch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.operator_audit import OperatorAudit
from core.settings import load_settings
from tests.api.server.operator_support import served_operator
from tests.api.server.server_support import ROLES, error_of, make_keys
from tests.cli import tradegraph
from tests.tools.notify.receivers import telegram_api

ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "/v1/risk/status", None, "viewer"),
    ("GET", "/v1/risk/limits", None, "viewer"),
    ("PUT", "/v1/risk/limits", {"risk": {"max_open_positions": 4}}, "admin"),
    ("POST", "/v1/risk/halt", {"reason": "matrix", "account": "chat"}, "admin"),
    ("POST", "/v1/risk/resume", {"reason": "matrix", "account": "chat"}, "admin"),
]
RANK = {role: rank for rank, role in enumerate(ROLES)}


def test_each_route_is_401_without_a_key_403_below_its_role_and_200_at_or_above(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    seen: dict[tuple[str, str, str], int] = {}
    expected: dict[tuple[str, str, str], int] = {}
    with served_operator(tmp_path) as served:
        for method, path, body, needs in ROUTES:
            for role in ("none", *ROLES):
                with served.client(tokens.get(role)) as client:
                    response = client.request(method, path, json=body)
                seen[(method, path, role)] = response.status_code
                allowed = role != "none" and RANK[role] >= RANK[needs]
                expected[(method, path, role)] = 200 if allowed else 401 if role == "none" else 403

    assert seen == expected


def test_limits_read_the_settings_in_force(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["viewer"]) as client:
        limits = client.get("/v1/risk/limits").json()

    assert limits["risk"]["max_order_notional"] == load_settings().risk.max_order_notional
    assert set(limits) == {"risk", "breakers"}


def test_a_limit_changed_by_an_admin_is_kept_for_the_next_run_and_audited(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    change = {"risk": {"max_order_notional": 5000}, "breakers": {"drawdown_halt": 0.12}}
    with served_operator(tmp_path) as served, served.client(tokens["admin"]) as client:
        answer = client.put("/v1/risk/limits", json=change)
        shown = client.get("/v1/risk/limits").json()

    assert answer.status_code == 200
    assert shown["risk"]["max_order_notional"] == 5000
    next_run = load_settings(data_dir=tmp_path)
    assert (next_run.risk.max_order_notional, next_run.breakers.drawdown_halt) == (5000, 0.12)
    (action,) = OperatorAudit(tmp_path).read()
    assert (action.actor, action.method, action.path, action.status) == (
        "admin",
        "PUT",
        "/v1/risk/limits",
        200,
    )
    assert action.detail["changes"] == {
        "risk.max_order_notional": {"old": 25_000.0, "new": 5000.0},
        "breakers.drawdown_halt": {"old": 0.15, "new": 0.12},
    }


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"risk": {"max_order_notional": -1}}, "risk.max_order_notional"),
        ({"risk": {"max_leverage_typo": 2}}, "risk.max_leverage_typo: no such limit"),
        ({"breakers": {"drawdown_halt": 0.01}}, "drawdown stages must rise"),
        ({"risk": {"max_position_fraction": "lots"}}, "risk.max_position_fraction"),
        ({"limits": {}}, "limits: no such field"),
    ],
)
def test_a_bad_limit_is_a_422_in_one_line_and_changes_nothing(
    tmp_path: Path, change: dict[str, Any], names: str
) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["admin"]) as client:
        response = client.put("/v1/risk/limits", json=change)
        after = client.get("/v1/risk/limits").json()

    status, _, message = error_of(response)
    assert status == 422 and names in message
    assert after["risk"] == load_settings().risk.model_dump(mode="json")
    assert not (tmp_path / "risk_limits.json").exists()


def test_a_halt_over_http_is_the_clis_switch_until_resumed_over_http(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    data = str(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["admin"]) as client:
        halted = client.post("/v1/risk/halt", json={"reason": "exchange outage"})
        status_http = client.get("/v1/risk/status").json()
        cli_halted = tradegraph("risk", "status", "--data-dir", data, env={"COLUMNS": "200"})
        resumed = client.post("/v1/risk/resume", json={"reason": "exchange back"})
        cli_resumed = tradegraph("risk", "status", "--data-dir", data, env={"COLUMNS": "200"})

    assert halted.status_code == 200 and halted.json()["problems"] == []
    assert status_http["halted"] and status_http["global_kill_switch"]["state"] == "halt"
    assert "HALTED" in cli_halted.stdout and "exchange outage" in cli_halted.stdout
    assert "by key 'admin' over HTTP" in cli_halted.stdout
    assert resumed.json() == {"resumed": "the global kill switch", "state": "ACTIVE"}
    assert "HALTED" not in cli_resumed.stdout
    assert [(a.actor, a.path, a.status, a.detail) for a in OperatorAudit(tmp_path).read()] == [
        (
            "admin",
            "/v1/risk/halt",
            200,
            {"reason": "exchange outage", "account": None, "flatten": False},
        ),
        ("admin", "/v1/risk/resume", 200, {"reason": "exchange back", "account": None}),
    ]


def test_a_halt_of_one_account_shows_in_that_accounts_status(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["admin"]) as client:
        client.post("/v1/risk/halt", json={"reason": "review", "account": "desk"})
        desk = client.get("/v1/risk/status", params={"account": "desk"}).json()
        chat = client.get("/v1/risk/status").json()

    assert (desk["account"], desk["state"]) == ("desk", "HALTED")
    assert (chat["account"], chat["state"]) == ("chat", "ACTIVE")


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": "   "}, {"reason": "x", "flatten": "maybe"}, {"reason": "x", "by": "me"}],
)
def test_a_halt_without_a_usable_body_is_a_422_in_one_line(
    tmp_path: Path, body: dict[str, Any]
) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["admin"]) as client:
        response = client.post("/v1/risk/halt", json=body)

    assert error_of(response)[0] == 422


def test_a_bad_account_name_in_status_is_a_400_in_one_line(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["viewer"]) as client:
        response = client.get("/v1/risk/status", params={"account": "no such/account"})

    assert error_of(response)[:2] == (400, "bad_account")


def test_a_halt_of_a_badly_named_account_is_a_400_and_halts_nothing(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["admin"]) as client:
        response = client.post("/v1/risk/halt", json={"reason": "x", "account": "no such/name"})
        status = client.get("/v1/risk/status").json()

    assert error_of(response)[:2] == (400, "bad_request")
    assert "account" in error_of(response)[2]
    assert status["state"] == "ACTIVE"


def test_a_halt_over_http_reaches_the_telegram_chat_and_never_shows_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "987654:http-halt-token"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    tokens = make_keys(tmp_path)
    with telegram_api(token, "77") as api:
        channel = {"name": "desk", "kind": "telegram", "chat_id": "77", "api_url": api.url}
        notify = {"channels": [{**channel, "events": ["halt"]}]}
        with (
            served_operator(tmp_path, notify=notify) as served,
            served.client(tokens["admin"]) as client,
        ):
            answer = client.post("/v1/risk/halt", json={"reason": "exchange outage"})
        (sent,) = api.wait_for(1)

    assert answer.json()["problems"] == []
    assert json.loads(sent.body)["text"].startswith(
        "HALTED: every account (global kill switch): exchange outage"
    )
    assert token not in answer.text
