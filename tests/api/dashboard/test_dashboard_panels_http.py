"""The dashboard's page, panels and live updates over the real app on 127.0.0.1, for a
finished run: the page contract the browser tests rely on, a panel's fragment, the SSE."""

from __future__ import annotations

import json
import re
import time
from contextlib import closing
from pathlib import Path

import httpx

from api.dashboard.routes import dashboard_router
from api.server.app import create_app
from api.server.ops_routes import ops_router
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from graphs.chat.desk_decisions import FRESH_S, DecisionReader
from graphs.chat.service import ChatEngine
from tests.api.dashboard.conftest import ACCOUNT, FinishedRun
from tests.api.dashboard.dashboard_support import DASHBOARD_HEADER, signed_in
from tests.api.server.operator_support import served_operator
from tests.api.server.server_support import make_keys
from tests.graphs.chat.chat_support import chat_settings

SECTIONS = ("equity", "positions", "decisions", "breakers", "denials", "agents", "evals", "chat")


def section(page: str, panel: str) -> str:
    found = re.search(rf'<section id="{panel}".*?</section>', page, re.S)
    assert found, f"no section {panel}"
    return found.group()


def test_the_page_has_every_panel_who_is_signed_in_and_the_halt_state(
    finished_run: FinishedRun,
) -> None:
    with signed_in(finished_run.url, finished_run.tokens["trader"]) as browser:
        page = browser.get("/")

    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert [s for s in SECTIONS if f'<section id="{s}"' in page.text] == list(SECTIONS)
    assert re.search(r'<span id="whoami"[^>]*>trader \(trader\)</span>', page.text)
    assert re.search(r'<span id="halt-state"[^>]*>trading</span>', page.text)
    assert '<link rel="icon" href="data:,">' in page.text
    assert finished_run.tokens["trader"] not in page.text


def test_the_equity_of_a_finished_run_is_drawn_with_buy_and_hold_and_drawdown(
    finished_run: FinishedRun,
) -> None:
    with signed_in(finished_run.url, finished_run.tokens["viewer"]) as browser:
        equity = section(browser.get("/").text, "equity")
        points = browser.get("/v1/equity", params={"limit": 5000}).json()["points"]

    assert f"Equity and drawdown · {ACCOUNT}" in equity
    for path in ("equity", "buy-and-hold", "drawdown"):
        drawn = re.search(rf'<path class="{path}" d="M([^"]+)"', equity)
        assert drawn and drawn.group(1).count("L") >= 10, path
    assert f"{finished_run.decisions} decisions" in equity
    first, last = points[0]["equity"], points[-1]["equity"]
    assert f"equity</span> {last:,.2f} ({last / first - 1:+.2%})" in equity


def test_the_latest_decisions_are_listed_newest_first_with_verdict_codes_and_thesis(
    finished_run: FinishedRun,
) -> None:
    with signed_in(finished_run.url, finished_run.tokens["viewer"]) as browser:
        decisions = section(browser.get("/").text, "decisions")
        rows = re.findall(
            r'<tr class="decision" data-verdict="(\w+)" data-id="([^"]+)">(.*?)</tr>',
            decisions,
            re.S,
        )
        first = browser.get(f"/v1/decisions/{rows[0][1]}").json()

    seqs = [int(ref.rsplit(":", 1)[1]) for _, ref, _ in rows]
    assert len(rows) == 20 and seqs == sorted(seqs, reverse=True)
    assert seqs[0] == finished_run.decisions - 1
    assert {verdict for verdict, _, _ in rows} <= {"approved", "denied", "hold"}
    denied = [cells for verdict, _, cells in rows if verdict == "denied"]
    assert denied and all(re.search(r'<td class="codes">[A-Z_]+', cells) for cells in denied)
    thesis = re.search(r'<td class="thesis" title="([^"]*)">', rows[0][2])
    assert thesis and thesis.group(1) == first["trace"]["proposal"]["thesis"]


def test_a_chat_question_is_not_listed_among_the_latest_decisions(
    finished_run: FinishedRun,
) -> None:
    with signed_in(finished_run.url, finished_run.tokens["trader"]) as browser:
        asked = browser.post(
            "/v1/chat", json={"thread": "panel-q", "text": "/risk"}, headers=DASHBOARD_HEADER
        )
        deadline = time.monotonic() + 2 * FRESH_S  # a busy store file gives no stamp: then
        while True:  # the index may be up to FRESH_S late (graphs.chat.desk_decisions)
            listed = browser.get("/v1/decisions", params={"limit": 1}).json()["decisions"][0]
            if listed["run_id"] != "dash-run" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        decisions = section(browser.get("/").text, "decisions")

    refs = re.findall(r'<tr class="decision" data-verdict="\w+" data-id="([^"]+)">', decisions)
    assert asked.status_code == 200 and listed["run_id"] == "chat-panel-q"
    assert len(refs) == 20 and not any(ref.startswith("chat-") for ref in refs)
    assert int(refs[0].rsplit(":", 1)[1]) == finished_run.decisions - 1


def test_denials_are_counted_by_code(finished_run: FinishedRun) -> None:
    with signed_in(finished_run.url, finished_run.tokens["viewer"]) as browser:
        denials = section(browser.get("/").text, "denials")
        metrics = browser.get("/metrics")

    counted = dict(re.findall(r'data-code="([A-Z_]+)"><td>\1</td><td>(\d+)</td>', denials))
    scraped = dict(re.findall(r'tradegraph_denials_total\{code="([A-Z_]+)"\} (\d+)', metrics.text))
    assert counted and {code: int(n) for code, n in counted.items()} == {
        code: int(float(n)) for code, n in scraped.items()
    }


def test_a_panel_fragment_is_its_section_alone(finished_run: FinishedRun) -> None:
    with signed_in(finished_run.url, finished_run.tokens["viewer"]) as browser:
        fragment = browser.get("/dashboard/panels/positions")
        unknown = browser.get("/dashboard/panels/secrets")

    assert fragment.status_code == 200 and fragment.text.startswith('<section id="positions">')
    assert "<html" not in fragment.text and "cash <b>" in fragment.text
    assert unknown.status_code == 404


def test_the_panels_and_events_need_a_session(finished_run: FinishedRun) -> None:
    with httpx.Client(base_url=finished_run.url) as client:
        panel = client.get("/dashboard/panels/equity")
        events = client.get("/dashboard/events")

    assert (panel.status_code, events.status_code) == (401, 401)


def test_the_script_and_stylesheet_are_served_without_a_build_step(
    finished_run: FinishedRun,
) -> None:
    with httpx.Client(base_url=finished_run.url) as client:
        script = client.get("/dashboard/static/dashboard.js")
        style = client.get("/dashboard/static/dashboard.css")
        other = client.get("/dashboard/static/..%2Fsessions.py")

    assert script.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in script.text and "X-Tradegraph-Dashboard" in script.text
    assert style.headers["content-type"].startswith("text/css")
    assert other.status_code == 404


def test_the_events_say_which_panels_changed_after_a_halt(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with (
        served_operator(tmp_path) as served,
        signed_in(served.url, tokens["admin"]) as browser,
        browser.stream("GET", "/dashboard/events", timeout=15) as events,
    ):
        lines = events.iter_lines()
        assert next(lines) == "retry: 5000"
        browser.post("/v1/risk/halt", json={"reason": "test"}, headers=DASHBOARD_HEADER)
        event = next(line for line in lines if line.startswith("event:"))
        data = next(lines)

    assert event == "event: refresh"
    changed = json.loads(data.removeprefix("data: "))
    assert {"halt-state", "breakers"} <= set(changed) and "decisions" not in changed


def test_a_quiet_stream_sends_keep_alive_comments_and_ends_when_the_key_is_revoked(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with (
        ChatEngine(chat_settings(tmp_path)) as engine,
        closing(open_api_keys(Storage(tmp_path))) as keys,
    ):
        reader = DecisionReader(engine.desk)
        routers = [
            ops_router(engine.desk, keys, shared=reader),
            dashboard_router(engine, keys, reader, poll_s=0.05, keepalive_s=0.2),
        ]
        with (
            serving_in_thread(create_app(engine, keys, routers=routers)) as url,
            signed_in(url, tokens["viewer"]) as browser,
            browser.stream("GET", "/dashboard/events", timeout=15) as events,
        ):
            lines = events.iter_lines()
            quiet = [next(lines) for _ in range(3)]
            keys.revoke("viewer")
            rest = list(lines)

    assert quiet == ["retry: 5000", "", ": keep-alive"]
    assert "event: signed-out" in rest and "event: refresh" not in rest
