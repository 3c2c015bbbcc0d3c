"""Test-wide constants: where the development data lives (beside the project, never inside)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.market.synthetic import generate_synthetic
from core.settings import Settings
from core.types import MarketInfo
from graphs.session import SessionPlan
from tests.fake_exchange.plugin import fake_binance  # noqa: F401  (a fixture for every test)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

needs_shared = pytest.mark.skipif(
    not (SHARED / "markets").is_dir(),
    reason="../shared/markets is absent: recorded-market tests need it beside the project",
)


@pytest.fixture
def make_plan(tmp_path):
    def build(bars: int = 300, seed: int = 11, run_id: str = "run-test", **settings) -> SessionPlan:
        series = generate_synthetic(seed, bars=bars)
        info = MarketInfo(
            source=f"synthetic:{seed}", symbol="SYN/USDT", timeframe="1h", synthetic=True
        )
        data_dir = tmp_path / run_id
        data_dir.mkdir(exist_ok=True)
        return SessionPlan(
            run_id=run_id,
            info=info,
            series=series,
            settings=Settings(**settings),
            data_dir=data_dir,
        )

    return build
