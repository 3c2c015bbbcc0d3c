"""Who may read the operator API: no key 401 on every /v1 read, every role 200; /healthz
and /readyz need no key, and /readyz says which store does not open (or that the decision
index is still being read). A key over its rate
is 429 with Retry-After; CORS stays closed unless origins are configured."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from api.server.app import create_app
from api.server.health_routes import health_router
from api.server.ops_routes import ops_router
from api.server.rate_limit import RateLimit
from api.server.routers import service_routers
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import LEDGER_FILE, Storage
from graphs.chat.desk_decisions import DecisionReader
from graphs.chat.service import ChatEngine
from tests.api.server.ops.conftest import ACCOUNT, RUN_ID, OpsServer, ops_settings
from tests.api.server.server_support import ROLES, error_of, make_keys

READS = (
    "/v1/decisions",
    f"/v1/decisions/{RUN_ID}:1",
    "/v1/memory/search?q=breakout",
    "/v1/portfolio",
    "/v1/positions",
    "/v1/orders",
    "/v1/fills",
    "/v1/equity",
    "/v1/ohlcv?limit=5",
)


@pytest.mark.parametrize("path", READS)
def test_every_read_needs_a_key(ops_server: OpsServer, path: str) -> None:
    with ops_server.client(role=None) as client:
        response = client.get(path)

    assert error_of(response)[:2] == (401, "missing_key")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", READS)
def test_every_role_reads(ops_server: OpsServer, path: str, role: str) -> None:
    with ops_server.client(role=role) as client:
        response = client.get(path)

    assert response.status_code == 200, response.text


@contextmanager
def serving(
    engine: ChatEngine, *, limit: RateLimit | None = None, cors_origins: tuple[str, ...] = ()
) -> Iterator[str]:
    """Another app over `engine` (the one data directory's writer) on its own port."""
    with (
        closing(open_api_keys(Storage(engine.root))) as keys,
        serving_in_thread(
            create_app(
                engine,
                keys,
                routers=[health_router(engine.desk), ops_router(engine.desk, keys, limit)],
                cors_origins=cors_origins,
            )
        ) as url,
    ):
        yield url


def test_a_key_over_its_rate_is_429_with_retry_after_and_others_are_not(
    ops_server: OpsServer,
) -> None:
    viewer, trader = ops_server.run.tokens["viewer"], ops_server.run.tokens["trader"]
    with serving(ops_server.engine, limit=RateLimit(rate=0.2, burst=3)) as url:
        with httpx.Client(base_url=url, headers={"X-API-Key": viewer}) as client:
            statuses = [client.get("/v1/portfolio").status_code for _ in range(3)]
            refused = client.get("/v1/portfolio")
        with httpx.Client(base_url=url, headers={"X-API-Key": trader}) as other:
            still = other.get("/v1/portfolio")

    assert statuses == [200, 200, 200]
    status, code, message = error_of(refused)
    assert (status, code) == (429, "rate_limited") and "'viewer'" in message
    assert 1 <= int(refused.headers["retry-after"]) <= 5
    assert still.status_code == 200


def test_cors_is_closed_by_default(ops_server: OpsServer) -> None:
    origin = {"Origin": "https://evil.example"}
    with ops_server.client(**origin) as client:
        read = client.get("/v1/portfolio")
        preflight = client.options(
            "/v1/portfolio", headers={"Access-Control-Request-Method": "GET"}
        )

    assert read.status_code == 200
    assert not any(h.startswith("access-control-") for h in read.headers)
    assert not any(h.startswith("access-control-") for h in preflight.headers)


def test_cors_lets_the_configured_origin_only(ops_server: OpsServer) -> None:
    token = {"X-API-Key": ops_server.run.tokens["viewer"]}
    with (
        serving(ops_server.engine, cors_origins=("https://ops.example",)) as url,
        httpx.Client(base_url=url, headers=token) as client,
    ):
        allowed = client.get("/v1/portfolio", headers={"Origin": "https://ops.example"})
        other = client.get("/v1/portfolio", headers={"Origin": "https://evil.example"})

    assert allowed.headers["access-control-allow-origin"] == "https://ops.example"
    assert "access-control-allow-origin" not in other.headers


def test_readyz_is_503_naming_the_store_that_does_not_open(tmp_path: Path) -> None:
    make_keys(tmp_path)
    (tmp_path / LEDGER_FILE).write_bytes(b"this is not a database" * 100)
    with (
        ChatEngine(ops_settings(tmp_path), account=ACCOUNT) as engine,
        serving(engine) as url,
        httpx.Client(base_url=url) as client,
    ):
        health = client.get("/healthz")
        ready = client.get("/readyz")

    assert health.status_code == 200
    status, code, message = error_of(ready)
    assert (status, code) == (503, "not_ready") and "ledger" in message


def test_readyz_is_503_until_the_decision_index_was_read_then_200(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_keys(tmp_path)
    gate = threading.Event()
    first_read = DecisionReader.refreshed

    def slow_first_read(reader: DecisionReader) -> object:
        gate.wait(30)  # a store of 100,000 traces, read while the server starts
        return first_read(reader)

    monkeypatch.setattr(DecisionReader, "refreshed", slow_first_read)
    with (
        ChatEngine(ops_settings(tmp_path), account=ACCOUNT) as engine,
        closing(open_api_keys(Storage(engine.root))) as keys,
        serving_in_thread(create_app(engine, keys, routers=service_routers(engine, keys))) as url,
        httpx.Client(base_url=url) as client,
    ):
        while_reading = client.get("/readyz")
        gate.set()
        deadline = time.monotonic() + 30
        while (ready := client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)

    status, code, message = error_of(while_reading)
    assert (status, code) == (503, "not_ready") and "decision index" in message
    assert ready.status_code == 200 and ready.json()["decision_index"] == "read"
