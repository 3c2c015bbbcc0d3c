"""A data directory after a short real run, for the chat tests that read one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graphs.chat.chat_support import MARKET, RUN_ID, chat_settings


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 decisions of the offline analyst on synthetic:7, traces and ledger written."""
    from agents.offline import OfflineAnalyst
    from core.market.source import MarketRequest, open_market
    from graphs.session import SessionPlan, run_session

    root = tmp_path_factory.mktemp("chat-run")
    info, series = open_market(MarketRequest(spec=MARKET, bars=300))
    plan = SessionPlan(
        run_id=RUN_ID, info=info, series=series, settings=chat_settings(root), data_dir=root
    )
    run_session(plan, OfflineAnalyst())
    return root
