"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against
the app `tradegraph serve` builds (chat, operator routers, dashboard, operator audit trail)
under uvicorn on 127.0.0.1, over a data directory holding a finished run, with a key of each
role. One run, one server and one browser per module: each test opens its own browser context
(its own cookies), so a login never leaks from one test into the next.

Without /usr/bin/chromium (`apt-get install chromium`; `.ci/run` installs it) or without the
playwright package, every test here skips saying so. Playwright's own browser download is
never used: it would need the internet.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx
import pytest

from agents.stress import StressAnalyst
from api.server.app import create_app
from api.server.routers import service_routers
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from core.market.source import MarketRequest, open_market
from core.operator_audit import OperatorAudit
from core.settings import SCREENSHOTS_ENV, Settings
from graphs.chat.service import ChatEngine
from graphs.session import SessionPlan, run_session
from memory.store import existing_collection, open_chroma, release_chroma
from memory.traces import COLLECTION, load_run
from tests.api.server.server_support import make_keys
from tests.chromium import CHROMIUM, launch_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, StorageState

ACCOUNT = "desk"
RUN_ID = "dash-run"
MARKET = "synthetic:5"
BARS = 200
LATEST = 20
"""How many decisions the page lists, newest first (the page contract)."""
WAIT_MS = 10_000
"""Longest wait for the page to change: the server polls its stores every 2 s for SSE."""


@dataclass(frozen=True)
class FinishedRun:
    data: Path
    settings: Settings
    tokens: dict[str, str]
    """A key of each role, named after its role."""
    latest_ids: tuple[str, ...]
    """RUN:SEQ of the run's newest decisions, newest first, as the trace store holds them."""


@dataclass(frozen=True)
class Dashboard:
    url: str
    run: FinishedRun

    def client(self, role: str) -> httpx.Client:
        token = self.run.tokens[role]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


@dataclass
class OpenPage:
    """A logged-in page, the errors its console and scripts reported, the dialogs it opened
    and the URLs it requested."""

    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)


def dashboard_settings(data: Path) -> Settings:
    return Settings(data_dir=data, market=MARKET, memory={"embedding": "hashing"})


def latest_decision_ids(data: Path, run_id: str, count: int) -> tuple[str, ...]:
    client = open_chroma(data)
    try:
        traces = load_run(existing_collection(client, COLLECTION, str(data)), run_id)
    finally:
        release_chroma(client)
    newest = sorted(traces, key=lambda t: (t.ts, t.seq), reverse=True)[:count]
    return tuple(f"{t.run_id}:{t.seq}" for t in newest)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    """A short real paper replay on the synthetic market, finished before the server starts:
    the stress analyst trades a few times and is denied the rest (refusal codes)."""
    data = tmp_path_factory.mktemp("dashboard")
    settings = dashboard_settings(data)
    info, series = open_market(MarketRequest(spec=MARKET, bars=BARS))
    plan = SessionPlan(
        run_id=RUN_ID, info=info, series=series, settings=settings, data_dir=data, account=ACCOUNT
    )
    run_session(plan, StressAnalyst())
    return FinishedRun(data, settings, make_keys(data), latest_decision_ids(data, RUN_ID, LATEST))


@pytest.fixture(scope="module")
def dashboard(finished_run: FinishedRun) -> Iterator[Dashboard]:
    with (
        ChatEngine(finished_run.settings, account=ACCOUNT) as engine,
        closing(open_api_keys(Storage(finished_run.data))) as keys,
        serving_in_thread(
            create_app(
                engine,
                keys,
                routers=service_routers(engine, keys),
                audit=OperatorAudit(engine.root),
            )
        ) as url,
    ):
        yield Dashboard(url, finished_run)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent: `apt-get install chromium` (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: python3 dev.py test installs the dev group")
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


@pytest.fixture
def trading(dashboard: Dashboard) -> Iterator[None]:
    """The test starts with trading on and leaves it on (an admin's resume over HTTP if the
    test left a halt), whatever order the module's tests run in."""
    resume_if_halted(dashboard)
    yield
    resume_if_halted(dashboard)


def resume_if_halted(dashboard: Dashboard) -> None:
    with dashboard.client("admin") as client:
        if client.get("/v1/risk/status").json()["halted"]:
            answer = client.post("/v1/risk/resume", json={"reason": "the test's cleanup"})
            assert answer.status_code == 200, answer.text


class OpenAs(Protocol):
    def __call__(self, role: str, *, through_form: bool = False) -> OpenPage: ...


@pytest.fixture(scope="module")
def signed_in() -> dict[str, StorageState]:
    """The browser state (the session cookie) of each role's first sign-in in the module."""
    return {}


@pytest.fixture
def open_as(
    browser: Browser, dashboard: Dashboard, signed_in: dict[str, StorageState], trading: None
) -> Iterator[OpenAs]:
    """Opens the dashboard as a key of the given role, in a fresh browser context: signed in
    through the login form the first time (or when `through_form`), later with the session
    cookie that sign-in got; every context is closed after the test."""
    contexts = []

    def open_page(role: str, *, through_form: bool = False) -> OpenPage:
        state = None if through_form else signed_in.get(role)
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, storage_state=state)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        opened = OpenPage(context.new_page())
        opened.page.on("console", lambda message: _console_error(opened, message))
        opened.page.on("pageerror", lambda error: opened.errors.append(f"pageerror: {error}"))
        opened.page.on("dialog", lambda dialog: _accept(opened, dialog))
        opened.page.on("request", lambda request: opened.requested.append(request.url))
        if state is None:
            log_in(opened.page, dashboard.url, dashboard.run.tokens[role])
            signed_in[role] = context.storage_state()
        else:
            opened.page.goto(f"{dashboard.url}/")
            opened.page.wait_for_selector("#whoami")
        return opened

    yield open_page
    for context in contexts:
        context.close()


def log_in(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/")
    page.fill("#login input[name=key]", token)
    page.click("#login [type=submit]")
    page.wait_for_selector("#whoami", timeout=WAIT_MS)


def _console_error(opened: OpenPage, message: ConsoleMessage) -> None:
    if message.type == "error":
        opened.errors.append(f"console.error: {message.text} ({message.location})")


def _accept(opened: OpenPage, dialog: Dialog) -> None:
    opened.dialogs.append(f"{dialog.type}: {dialog.message}")
    dialog.accept()


def save_screenshot(page: Page, folder: Path, name: str) -> list[Path]:
    """A full-page screenshot in `folder` and, when TRADEGRAPH_SCREENSHOTS names a folder,
    a copy there (for the people reviewing the dashboard); the paths written."""
    saved = folder / name
    page.screenshot(path=saved, full_page=True)
    written = [saved]
    wanted = os.environ.get(SCREENSHOTS_ENV)
    if wanted:
        target = Path(wanted)
        target.mkdir(parents=True, exist_ok=True)
        written.append(Path(shutil.copy(saved, target / name)))
    return written
