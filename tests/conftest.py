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


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for this test session: CI's (TRADEGRAPH_TEST_DATABASE_URL) or a
    private one started from Debian's binaries; skipped when PostgreSQL is not installed."""
    import os

    from tests.pg_server import URL_VARIABLE, PostgresServer, private_server, server_binaries

    given = os.environ.get(URL_VARIABLE)
    if given:
        yield PostgresServer(given)
        return
    binaries = server_binaries()
    if binaries is None:
        pytest.skip(
            f"PostgreSQL is not installed (apt-get install postgresql) and {URL_VARIABLE} is unset"
        )
    with private_server(binaries) as server:
        yield server


@pytest.fixture
def database_url(postgres_server):
    """The URL of a fresh database of its own for one test, dropped after it."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request, tmp_path):
    """The stores of a data directory on each backend: the same tests run on both."""
    from core.backends import Storage

    if request.param == "sqlite":
        return Storage(tmp_path)
    return Storage(tmp_path, request.getfixturevalue("database_url"))
