"""The reads answered from kept JSON show a change of their stores in the very next answer:
a new decision, a fill, a halt; a revoked key is refused by the very next request. The app is
served on 127.0.0.1 over a short real run of its own (these tests write to its stores)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from agents.stress import StressAnalyst
from api.server.app import create_app
from api.server.routers import service_routers
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from core.market.source import MarketRequest, open_market
from core.store_version import SqliteVersions
from core.types import Fill, Order, OrderType, Side, Trace
from graphs.chat.desk_stores import store_files
from graphs.chat.service import ChatEngine
from graphs.session import SessionPlan, run_session
from memory.embeddings import text_embedder
from memory.session_stores import RUNS_EMBEDDING
from memory.store import open_chroma, release_chroma, vector_collection
from memory.traces import COLLECTION, RUNS_COLLECTION, TraceStore
from tests.api.server.ops.conftest import ACCOUNT, MARKET, OpsRun, OpsServer, ops_settings
from tests.api.server.server_support import make_keys

LATE_RUN = "late-run"


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsServer]:
    data = tmp_path_factory.mktemp("fresh")
    settings = ops_settings(data)
    info, series = open_market(MarketRequest(spec=MARKET, bars=150))
    plan = SessionPlan(
        run_id="fresh-run", info=info, series=series, settings=settings, data_dir=data,
        account=ACCOUNT,
    )  # fmt: skip
    summary = run_session(plan, StressAnalyst())
    run = OpsRun(data, settings, make_keys(data), summary.decisions)
    with (
        ChatEngine(settings, account=ACCOUNT) as engine,
        closing(open_api_keys(Storage(data))) as keys,
        serving_in_thread(create_app(engine, keys, routers=service_routers(engine, keys))) as url,
    ):
        yield OpsServer(url, run, engine)


def _append_trace(data: Path, seq: int, ts: int) -> None:
    """One more decision written through the real trace store, as a run would."""
    embedder = text_embedder("hashing")
    client = open_chroma(data)
    try:
        store = TraceStore(
            vector_collection(client, COLLECTION, embedding=f"{embedder.name}-{embedder.dim}"),
            LATE_RUN,
            embedder=embedder,
            runs=vector_collection(client, RUNS_COLLECTION, embedding=RUNS_EMBEDDING),
        )
        store.append(
            Trace(
                run_id=LATE_RUN,
                seq=seq,
                ts=ts,
                symbol="SYN/USDT",
                market_source="test",
                inputs_hash=f"{seq:016x}",
                features={},
                analyst="offline",
                proposal={"action": "HOLD", "symbol": "SYN/USDT", "thesis": "late"},
                verdict="hold",
                trading_state="ACTIVE",
                equity=10_000.0,
            )
        )
        store.close()
    finally:
        release_chroma(client)


def test_a_new_decision_is_listed_by_the_next_request(fresh_server: OpsServer) -> None:
    with fresh_server.client() as client:
        before = client.get("/v1/decisions", params={"limit": 1}).json()
        again = client.get("/v1/decisions", params={"limit": 1}).json()
        _append_trace(fresh_server.run.data, 0, before["decisions"][0]["ts"] + 60_000)
        after = client.get("/v1/decisions", params={"limit": 1}).json()

    assert again == before
    assert after["total"] == before["total"] + 1
    assert after["decisions"][0]["ref"] == f"{LATE_RUN}:0"


def test_a_fill_shows_in_the_portfolio_at_once(fresh_server: OpsServer) -> None:
    ledger = Storage(fresh_server.run.data).ledger(ACCOUNT, 10_000.0)
    order = Order(
        client_order_id="fresh-buy", symbol="SYN/USDT", side=Side.BUY, type=OrderType.MARKET,
        quantity=1.0, reference_price=100.0, created_ms=1,
    )  # fmt: skip
    fill = Fill(
        client_order_id="fresh-buy", symbol="SYN/USDT", side=Side.BUY, quantity=1.0,
        price=100.0, fee=0.1, ts=2,
    )  # fmt: skip
    with fresh_server.client() as client:
        before = client.get("/v1/portfolio").json()
        positions_before = client.get("/v1/positions").json()
        try:
            ledger.record_order(order)
            ledger.record_fill(fill)
        finally:
            ledger.close()
        after = client.get("/v1/portfolio").json()
        positions_after = client.get("/v1/positions").json()

    assert after["cash"] == pytest.approx(before["cash"] - 100.1, abs=0.01)
    held = {p["symbol"]: p["quantity"] for p in positions_after["positions"]}
    was = {p["symbol"]: p["quantity"] for p in positions_before["positions"]}
    assert held["SYN/USDT"] == pytest.approx(was.get("SYN/USDT", 0.0) + 1.0)


def test_a_halt_over_http_changes_the_stamp_the_kept_answers_hold(
    fresh_server: OpsServer,
) -> None:
    versions = SqliteVersions(store_files(fresh_server.engine.desk) or [])
    try:
        before = versions.stamp()
        with fresh_server.client("admin") as client:
            halted = client.post("/v1/risk/halt", json={"reason": "fresh", "account": ACCOUNT})
            status = client.get("/v1/risk/status", params={"account": ACCOUNT}).json()
        after = versions.stamp()
        with fresh_server.client("admin") as client:
            client.post("/v1/risk/resume", json={"reason": "fresh done", "account": ACCOUNT})
    finally:
        versions.close()

    assert halted.status_code == 200 and status["halted"] is True
    assert before is not None and after is not None and after != before


def test_a_revoked_key_is_refused_by_the_next_request(fresh_server: OpsServer) -> None:
    with closing(open_api_keys(Storage(fresh_server.run.data))) as keys:
        token = keys.create("soon-revoked", "viewer").token
    with fresh_server.client(None, **{"X-API-Key": token}) as client:
        first = client.get("/v1/portfolio")
        second = client.get("/v1/portfolio")
        with closing(open_api_keys(Storage(fresh_server.run.data))) as cli_keys:
            cli_keys.revoke("soon-revoked")
        refused = client.get("/v1/portfolio")

    assert (first.status_code, second.status_code) == (200, 200)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_key"
