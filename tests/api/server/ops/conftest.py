"""One short real run on the synthetic market (a paper replay that trades, is denied and
writes traces, situations and lessons, on account `ops`), served by the real app on
127.0.0.1 with a key of each role, shared by the operator API's tests of a module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agents.stress import StressAnalyst
from api.server.app import create_app
from api.server.routers import service_routers
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from core.market.source import MarketRequest, open_market
from core.settings import Settings
from graphs.chat.service import ChatEngine
from graphs.session import SessionPlan, run_session
from tests.api.server.server_support import make_keys

ACCOUNT = "ops"
RUN_ID = "ops-run"
MARKET = "synthetic:5"


@dataclass(frozen=True)
class OpsRun:
    data: Path
    settings: Settings
    tokens: dict[str, str]
    cycles: int


@dataclass(frozen=True)
class OpsServer:
    url: str
    run: OpsRun
    engine: ChatEngine

    def client(self, role: str | None = "viewer", **headers: str) -> httpx.Client:
        given = {"Authorization": f"Bearer {self.run.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=given | headers, timeout=30)


def ops_settings(data: Path) -> Settings:
    return Settings(data_dir=data, market=MARKET, memory={"embedding": "hashing"})


@pytest.fixture(scope="session")
def ops_run(tmp_path_factory: pytest.TempPathFactory) -> OpsRun:
    data = tmp_path_factory.mktemp("ops")
    settings = ops_settings(data)
    info, series = open_market(MarketRequest(spec=MARKET, bars=300))
    plan = SessionPlan(
        run_id=RUN_ID, info=info, series=series, settings=settings, data_dir=data, account=ACCOUNT
    )
    summary = run_session(plan, StressAnalyst())
    tokens = make_keys(data)
    return OpsRun(data, settings, tokens, summary.decisions)


@pytest.fixture(scope="module")
def ops_server(ops_run: OpsRun) -> Iterator[OpsServer]:
    with (
        ChatEngine(ops_run.settings, account=ACCOUNT) as engine,
        closing(open_api_keys(Storage(ops_run.data))) as keys,
        serving_in_thread(create_app(engine, keys, routers=service_routers(engine, keys))) as url,
    ):
        yield OpsServer(url, ops_run, engine)


def wait_until_ready(url: str, seconds: float = 60) -> None:
    """Until the served app's /readyz is 200 (it reads its decision index while it starts)."""
    deadline = time.monotonic() + seconds
    while httpx.get(f"{url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the server was not ready within a minute"
        time.sleep(0.02)
