"""A short finished run on the synthetic market (it trades, is denied and trips nothing), on
account `desk`, served with a key of each role, shared by the dashboard's tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.stress import StressAnalyst
from api.server.app import create_app
from api.server.routers import service_routers
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from core.market.source import MarketRequest, open_market
from core.operator_audit import OperatorAudit
from core.settings import Settings
from graphs.chat.service import ChatEngine
from graphs.session import SessionPlan, run_session
from tests.api.server.server_support import make_keys

ACCOUNT = "desk"
MARKET = "synthetic:7"


@dataclass(frozen=True)
class FinishedRun:
    url: str
    data: Path
    tokens: dict[str, str]
    decisions: int


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FinishedRun]:
    data = tmp_path_factory.mktemp("dashboard")
    settings = Settings(data_dir=data, market=MARKET, memory={"embedding": "hashing"})
    info, series = open_market(MarketRequest(spec=MARKET, bars=120))
    plan = SessionPlan(
        run_id="dash-run",
        info=info,
        series=series,
        settings=settings,
        data_dir=data,
        account=ACCOUNT,
    )
    summary = run_session(plan, StressAnalyst())
    tokens = make_keys(data)
    with (
        ChatEngine(settings, account=ACCOUNT) as engine,
        closing(open_api_keys(Storage(data))) as keys,
        serving_in_thread(
            create_app(
                engine, keys, routers=service_routers(engine, keys), audit=OperatorAudit(data)
            )
        ) as url,
    ):
        yield FinishedRun(url, data, tokens, summary.decisions)
