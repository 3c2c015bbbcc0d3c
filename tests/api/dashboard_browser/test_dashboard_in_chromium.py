"""The dashboard as an operator sees it: headless Chromium logs in through the login form and
reads the page the served app renders over a finished run; an admin halts from it, and what
changes elsewhere reaches an open page over SSE, without a reload."""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.api_keys import open_api_keys
from core.backends import Storage
from core.operator_audit import OperatorAudit
from tests.api.dashboard_browser.conftest import (
    ACCOUNT,
    LATEST,
    RUN_ID,
    WAIT_MS,
    Dashboard,
    OpenAs,
    log_in,
    save_screenshot,
)
from tests.cli import tradegraph

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.xdist_group("dashboard-browser")

POINT = re.compile(r"-?\d+(?:\.\d+)?[ ,]-?\d+(?:\.\d+)?")
"""One x,y pair of an SVG path's data."""
LABELS_OUTSIDE_THE_CHART = """() => {
    const chart = document.querySelector('#equity svg').getBoundingClientRect();
    return [...document.querySelectorAll('#equity svg text')]
        .filter((label) => {
            const box = label.getBoundingClientRect();
            return box.left < chart.left - 0.5 || box.right > chart.right + 0.5
                || box.top < chart.top - 0.5 || box.bottom > chart.bottom + 0.5;
        })
        .map((label) => label.textContent);
}"""
"""The axis labels the browser draws (its fonts, not the server's guess) beyond the chart."""
TRADE = "/trade buy 0.01 SYN/USDT --stop 75"
"""A trade proposed in the chat: a decision of its own, validated (a trader's key)."""
SELL = "/trade sell 1 SYN/USDT"
"""Part of the run's open position, which the validator lets through to an approval."""


def points_of(path_data: str | None) -> int:
    return len(POINT.findall(path_data or ""))


def position_quantity(dashboard: Dashboard) -> float:
    """The served account's one position, as the REST API reads it from the ledger."""
    with dashboard.client("viewer") as client:
        [position] = client.get("/v1/positions").json()["positions"]
    return float(position["quantity"])


def risk_status(dashboard: Dashboard) -> str:
    """`tradegraph risk status` run as a user runs it, on the served data directory."""
    done = tradegraph(
        "risk", "status", "--data-dir", str(dashboard.run.data), env={"COLUMNS": "200"}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_admin_and_viewer_pages_load_with_no_console_error_and_nothing_from_elsewhere(
    open_as: OpenAs, dashboard: Dashboard, tmp_path: Path
) -> None:
    pages = {role: open_as(role, through_form=True) for role in ("admin", "viewer")}
    for role, opened in pages.items():
        save_screenshot(opened.page, tmp_path, f"dashboard-{role}.png")

    for role, opened in pages.items():
        assert opened.errors == [], role
        elsewhere = [url for url in opened.requested if not url.startswith(f"{dashboard.url}/")]
        assert elsewhere == [], role  # no CDN, no font, no analytics: it works offline
        assert f"{dashboard.url}/dashboard/static/dashboard.js" in opened.requested
        whoami = opened.page.inner_text("#whoami")
        assert role in whoami, whoami  # the key's name (its role here) and its role
        for section in ("equity", "positions", "decisions", "breakers", "denials", "agents"):
            assert opened.page.locator(f"section#{section}").count() == 1, section
        assert opened.page.locator("section#evals").count() == 1
        assert opened.page.locator("section#chat").count() == 1
        assert "trading" in (opened.page.text_content("#halt-state") or "")


def test_the_equity_curve_of_the_finished_run_is_drawn_against_buy_and_hold(
    open_as: OpenAs,
) -> None:
    page = open_as("viewer").page

    equity = page.get_attribute("#equity svg path.equity", "d")
    buy_and_hold = page.get_attribute("#equity svg path.buy-and-hold", "d")
    drawdown = page.get_attribute("#equity svg path.drawdown", "d")

    assert points_of(equity) >= 100, equity
    assert points_of(buy_and_hold) >= 100, buy_and_hold
    assert points_of(drawdown) >= 2, drawdown
    assert page.evaluate(LABELS_OUTSIDE_THE_CHART) == []


def test_the_latest_decisions_are_the_runs_newest_with_their_verdicts(
    open_as: OpenAs, dashboard: Dashboard
) -> None:
    page = open_as("viewer").page
    rows = page.locator("#decisions tr.decision")

    ids = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
    verdicts = {rows.nth(i).get_attribute("data-verdict") for i in range(rows.count())}
    theses = [rows.nth(i).locator("td.thesis").inner_text() for i in range(rows.count())]

    ours = [ref for ref in ids if ref and ref.startswith(f"{RUN_ID}:")]
    newer = ids[: len(ids) - len(ours)]
    assert len(ids) == LATEST and ids == [*newer, *ours]
    # only chat turns of this module's other tests, made after the run, may come first
    assert all(ref and ref.startswith("chat-") for ref in newer)
    assert ours == list(dashboard.run.latest_ids[: len(ours)]) and len(ours) >= LATEST - 5
    assert verdicts <= {"approved", "denied", "hold"} and verdicts
    assert all(thesis.strip() for thesis in theses)
    assert rows.first.locator("td.codes").count() == 1


def test_an_admins_halt_button_halts_and_risk_status_agrees(
    open_as: OpenAs, dashboard: Dashboard, tmp_path: Path
) -> None:
    opened = open_as("admin")
    page = opened.page

    page.click("button#halt")
    page.locator("#halt-state").filter(has_text="halted").wait_for(timeout=WAIT_MS)
    halted_status = risk_status(dashboard)
    save_screenshot(page, tmp_path, "dashboard-admin-halted.png")
    page.click("button#resume")
    page.locator("#halt-state").filter(has_text="trading").wait_for(timeout=WAIT_MS)
    with dashboard.client("viewer") as client:
        resumed = client.get("/v1/risk/status").json()

    assert opened.dialogs and opened.dialogs[0].startswith("confirm: ")
    assert "HALTED" in halted_status
    assert "halted from the dashboard by admin" in halted_status
    assert resumed["halted"] is False and len(opened.dialogs) == 2
    audited = [(a.actor, a.path) for a in OperatorAudit(dashboard.run.data).read()]
    assert any(actor == "admin" and path.endswith("/halt") for actor, path in audited), audited
    assert opened.errors == []


@pytest.mark.parametrize("role", ["viewer", "trader"])
def test_a_viewer_or_trader_sees_no_halt_button(open_as: OpenAs, role: str) -> None:
    page = open_as(role).page

    html = page.content()

    assert page.locator("button#halt").count() == 0
    assert page.locator("button#resume").count() == 0
    assert 'id="halt"' not in html and 'id="resume"' not in html


def test_a_halt_from_the_cli_reaches_an_open_page_without_a_reload(
    open_as: OpenAs, dashboard: Dashboard
) -> None:
    opened = open_as("viewer")
    page = opened.page
    page.evaluate("window.notReloaded = true")
    data = str(dashboard.run.data)

    halted = tradegraph("risk", "halt", "--reason", "exchange incident", "--data-dir", data)
    page.locator("#halt-state").filter(has_text="halted").wait_for(timeout=WAIT_MS)

    assert halted.returncode == 0, halted.stderr
    assert page.evaluate("window.notReloaded") is True
    assert opened.errors == []


def test_a_slash_command_in_the_chat_panel_is_answered_offline(
    open_as: OpenAs,
) -> None:
    opened = open_as("viewer")
    page = opened.page

    page.fill("#chat-input", "/risk")
    page.locator("#chat-form [type=submit]").click()
    page.locator("#chat-log").filter(has_text="ACTIVE").wait_for(timeout=WAIT_MS)

    log = page.inner_text("#chat-log")
    assert f"account {ACCOUNT}" in log, log
    assert opened.errors == []


def test_a_decision_made_elsewhere_reaches_an_open_page_without_a_reload(
    open_as: OpenAs, dashboard: Dashboard
) -> None:
    opened = open_as("viewer")
    page = opened.page
    page.evaluate("window.notReloaded = true")

    with (
        dashboard.client("trader") as trader,
        trader.stream("POST", "/v1/chat", json={"thread": "sse-trade", "text": TRADE}) as turn,
    ):
        turn.read()
    row = page.locator('#decisions tr.decision[data-id="chat-sse-trade:0"]')
    row.wait_for(timeout=WAIT_MS)

    assert turn.status_code == 200
    assert page.locator("#decisions tr.decision").first.get_attribute("data-id") == (
        "chat-sse-trade:0"
    )
    assert row.get_attribute("data-verdict") in {"approved", "denied"}
    assert page.evaluate("window.notReloaded") is True
    assert opened.errors == []


def test_a_trader_approves_a_chat_proposal_and_the_open_position_shrinks_on_the_page(
    open_as: OpenAs, dashboard: Dashboard, tmp_path: Path
) -> None:
    opened = open_as("trader")
    page = opened.page
    before = position_quantity(dashboard)
    shown = page.locator("#positions tr.position td").nth(1)
    assert shown.inner_text() == f"{before:g}"

    page.fill("#chat-input", SELL)
    page.locator("#chat-form [type=submit]").click()
    page.locator("#chat-log button.chat-approve").click()
    page.locator("#positions tr.position td").nth(1).filter(has_text=f"{before - 1:g}").wait_for(
        timeout=WAIT_MS
    )

    save_screenshot(page, tmp_path, "dashboard-trader-approved.png")

    assert position_quantity(dashboard) == pytest.approx(before - 1)
    assert opened.errors == []


def test_a_wrong_key_is_refused_at_the_login_form_and_signing_out_ends_the_session(
    browser: Browser, dashboard: Dashboard
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{dashboard.url}/")
        page.fill("#login input[name=key]", "tg_not-a-key-of-this-server")
        page.click("#login [type=submit]")
        refused = page.inner_text("#login-error")
        whoami_after_refusal = page.locator("#whoami").count()
        log_in(page, dashboard.url, dashboard.run.tokens["viewer"])
        page.click("form.logout [type=submit]")
        page.wait_for_selector("#login", timeout=WAIT_MS)
        page.goto(f"{dashboard.url}/")
        signed_out = page.locator("#login").count(), page.locator("#whoami").count()
    finally:
        context.close()

    assert refused.strip() and whoami_after_refusal == 0
    assert signed_out == (1, 0)


def test_a_key_revoked_from_the_cli_signs_its_open_page_out(
    browser: Browser, dashboard: Dashboard
) -> None:
    with closing(open_api_keys(Storage(dashboard.run.data))) as keys:
        token = keys.create("kiosk", "viewer").token
    context = browser.new_context()
    page = context.new_page()
    try:
        log_in(page, dashboard.url, token)
        revoked = tradegraph("keys", "revoke", "kiosk", "--data-dir", str(dashboard.run.data))
        page.wait_for_selector("#login", timeout=WAIT_MS)
        still_shown = page.locator("#whoami").count()
    finally:
        context.close()

    assert revoked.returncode == 0, revoked.stderr
    assert still_shown == 0
