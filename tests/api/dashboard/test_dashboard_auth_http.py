"""Signing in to the dashboard and what a session may do, over the real app on 127.0.0.1:
the key is checked once and stays on the server, a revoked key ends its sessions at once, a
change needs the dashboard's header and takes the REST route's own path and audit."""

from __future__ import annotations

import logging
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from core.api_keys import open_api_keys
from core.backends import Storage
from core.operator_audit import OperatorAudit
from tests.api.dashboard.conftest import FinishedRun
from tests.api.dashboard.dashboard_support import DASHBOARD_HEADER, signed_in
from tests.api.server.operator_support import served_operator
from tests.api.server.server_support import error_of, make_keys
from tests.cli import tradegraph

HALT = {"reason": "halted from the dashboard by admin"}


def test_the_page_without_a_session_is_the_sign_in_form(finished_run: FinishedRun) -> None:
    with httpx.Client(base_url=finished_run.url) as client:
        page = client.get("/")

    assert page.status_code == 200
    assert '<form id="login"' in page.text
    assert '<input id="key" name="key" type="password"' in page.text
    assert 'id="equity"' not in page.text


def test_a_bad_key_is_the_sign_in_form_again_with_the_error_and_401(
    finished_run: FinishedRun,
) -> None:
    with httpx.Client(base_url=finished_run.url) as client:
        answer = client.post("/login", data={"key": "tg_not-a-key"})

    assert answer.status_code == 401
    assert '<p id="login-error"' in answer.text and "unknown or revoked" in answer.text
    assert "set-cookie" not in answer.headers


def test_an_address_failing_to_sign_in_too_often_is_refused_429_without_a_lookup(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, httpx.Client(base_url=served.url) as client:
        good = [client.post("/login", data={"key": tokens["viewer"]}) for _ in range(15)]
        bad = [client.post("/login", data={"key": "tg_not-a-key"}) for _ in range(10)]
        over = client.post("/login", data={"key": tokens["admin"]})

    assert [a.status_code for a in good] == [303] * 15  # a sign-in that succeeds costs nothing
    assert [a.status_code for a in bad] == [401] * 10
    assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins from this address" in over.text
    assert "set-cookie" not in over.headers


def test_signing_in_sets_an_httponly_strict_cookie_holding_a_session_not_the_key(
    finished_run: FinishedRun, caplog: pytest.LogCaptureFixture
) -> None:
    token = finished_run.tokens["viewer"]
    with caplog.at_level(logging.DEBUG), httpx.Client(base_url=finished_run.url) as client:
        answer = client.post("/login", data={"key": token})
        page = client.get("/")
    cookie = answer.headers["set-cookie"]

    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    name, _, rest = cookie.partition("=")
    session_id = rest.split(";")[0]
    assert name == "tg_session" and len(session_id) >= 43 and token not in cookie
    flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=strict"} <= flags and "secure" not in flags
    assert "dashboard: key 'viewer' signed in" in caplog.text
    assert token not in caplog.text and token not in page.text


def test_the_cookie_is_secure_when_the_request_came_over_https(finished_run: FinishedRun) -> None:
    with httpx.Client(base_url=finished_run.url) as client:
        answer = client.post(
            "/login",
            data={"key": finished_run.tokens["viewer"]},
            headers={"X-Forwarded-Proto": "https"},
        )

    assert "secure" in {flag.strip().lower() for flag in answer.headers["set-cookie"].split(";")}


def test_a_key_revoked_mid_session_is_refused_at_once(finished_run: FinishedRun) -> None:
    with closing(open_api_keys(Storage(finished_run.data))) as keys:
        token = keys.create("short-lived", "viewer").token
    with signed_in(finished_run.url, token) as browser:
        before = browser.get("/")
        with closing(open_api_keys(Storage(finished_run.data))) as keys:
            keys.revoke("short-lived")
        page = browser.get("/")
        panel = browser.get("/dashboard/panels/equity")
        read = browser.get("/v1/portfolio")

    assert 'id="whoami"' in before.text
    assert '<form id="login"' in page.text and 'id="whoami"' not in page.text
    assert error_of(panel)[:2] == (401, "no_session")
    assert read.status_code == 401


def test_signing_out_ends_the_session(finished_run: FinishedRun) -> None:
    with signed_in(finished_run.url, finished_run.tokens["viewer"]) as browser:
        session_id = browser.cookies["tg_session"]
        browser.post("/logout")
        with httpx.Client(base_url=finished_run.url) as stale:
            stale.cookies.set("tg_session", session_id)
            page = stale.get("/")

    assert '<form id="login"' in page.text


def test_a_viewer_page_has_no_halt_button_and_an_admin_page_has_both(
    finished_run: FinishedRun,
) -> None:
    with signed_in(finished_run.url, finished_run.tokens["viewer"]) as viewer:
        viewer_page = viewer.get("/").text
    with signed_in(finished_run.url, finished_run.tokens["trader"]) as trader:
        trader_page = trader.get("/").text
    with signed_in(finished_run.url, finished_run.tokens["admin"]) as admin:
        admin_page = admin.get("/").text

    assert 'id="halt"' not in viewer_page and 'id="resume"' not in viewer_page
    assert 'id="halt"' not in trader_page
    assert '<button id="halt"' in admin_page and '<button id="resume"' in admin_page


def test_a_halt_with_the_session_but_without_the_dashboard_header_is_refused(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, signed_in(served.url, tokens["admin"]) as admin:
        refused = admin.post("/v1/risk/halt", json=HALT)
        status = admin.get("/v1/risk/status").json()

    assert error_of(refused)[:2] == (403, "dashboard_header_missing")
    assert not status["halted"] and status["global_kill_switch"]["state"] == "ok"


def test_a_viewer_session_cannot_halt_even_with_the_header(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, signed_in(served.url, tokens["viewer"]) as viewer:
        refused = viewer.post("/v1/risk/halt", json=HALT, headers=DASHBOARD_HEADER)

    assert error_of(refused)[:2] == (403, "role_too_low")


def test_a_halt_from_the_dashboard_is_the_clis_switch_and_audited_with_the_keys_name(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, signed_in(served.url, tokens["admin"]) as admin:
        halted = admin.post("/v1/risk/halt", json=HALT, headers=DASHBOARD_HEADER)
        header = admin.get("/dashboard/panels/halt-state").text
        cli = tradegraph("risk", "status", "--data-dir", str(tmp_path), env={"COLUMNS": "200"})

    assert halted.status_code == 200 and halted.json()["halted"].startswith("every account")
    assert ">halted</span>" in header
    assert "HALTED" in cli.stdout and "halted from the dashboard by admin" in cli.stdout
    assert [(a.actor, a.role, a.path, a.status) for a in OperatorAudit(tmp_path).read()] == [
        ("admin", "admin", "/v1/risk/halt", 200)
    ]


def test_the_halt_state_a_page_is_drawn_with_follows_a_halt_and_a_resume_at_once(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, signed_in(served.url, tokens["admin"]) as admin:
        before = admin.get("/dashboard/panels/halt-state").text
        admin.post("/v1/risk/halt", json=HALT, headers=DASHBOARD_HEADER)
        halted = admin.get("/").text
        admin.post("/v1/risk/resume", json={"reason": "checked"}, headers=DASHBOARD_HEADER)
        resumed = admin.get("/").text

    assert ">trading</span>" in before
    assert ">halted</span>" in halted
    assert ">trading</span>" in resumed


def test_a_sign_in_posted_from_another_site_is_refused(finished_run: FinishedRun) -> None:
    with httpx.Client(base_url=finished_run.url) as client:
        forged = client.post(
            "/login",
            data={"key": finished_run.tokens["viewer"]},
            headers={"Origin": "https://evil.example"},
        )
        own = client.post(
            "/login",
            data={"key": finished_run.tokens["viewer"]},
            headers={"Origin": finished_run.url},
        )

    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    assert 'id="login-error"' in forged.text
    assert own.status_code == 303
