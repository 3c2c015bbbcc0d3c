"""The operator API's read side against the real app under uvicorn on 127.0.0.1, over the
stores a short real run on the synthetic market wrote."""

from __future__ import annotations

import pytest

from tests.api.server.ops.conftest import ACCOUNT, RUN_ID, OpsServer, wait_until_ready
from tests.api.server.server_support import error_of
from tests.graphs.chat.chat_support import ledger_rows


def test_decisions_are_listed_newest_first_and_page_on(ops_server: OpsServer) -> None:
    with ops_server.client() as client:
        first = client.get("/v1/decisions", params={"limit": 5}).json()
        second = client.get("/v1/decisions", params={"limit": 5, "offset": 5}).json()

    assert first["total"] == ops_server.run.cycles
    times = [d["ts"] for d in first["decisions"] + second["decisions"]]
    assert times == sorted(times, reverse=True) and len(set(times)) == 10
    assert first["next_offset"] == 5 and second["offset"] == 5


def test_decisions_filter_by_verdict_action_run_account_and_time(ops_server: OpsServer) -> None:
    with ops_server.client() as client:
        every = client.get("/v1/decisions", params={"limit": 500}).json()["decisions"]
        middle = sorted(d["ts"] for d in every)[len(every) // 2]
        approved = client.get("/v1/decisions", params={"verdict": "approved"}).json()
        buys = client.get("/v1/decisions", params={"action": "BUY", "run": RUN_ID}).json()
        of_account = client.get("/v1/decisions", params={"account": ACCOUNT}).json()
        other_account = client.get("/v1/decisions", params={"account": "nobody"}).json()
        later = client.get("/v1/decisions", params={"from": str(middle), "limit": 500}).json()

    assert approved["total"] == sum(d["verdict"] == "approved" for d in every) > 0
    assert {d["verdict"] for d in approved["decisions"]} == {"approved"}
    assert buys["total"] > 0 and {d["action"] for d in buys["decisions"]} == {"BUY"}
    assert of_account["total"] == len(every) and other_account["total"] == 0
    assert later["total"] == sum(d["ts"] >= middle for d in every)
    assert min(d["ts"] for d in later["decisions"]) >= middle


def test_a_date_filter_takes_an_iso_day(ops_server: OpsServer) -> None:
    with ops_server.client() as client:
        every = client.get("/v1/decisions", params={"limit": 500}).json()["decisions"]
        day = every[-1]["time"][:10]
        that_day = client.get("/v1/decisions", params={"from": day, "to": day}).json()

    assert that_day["total"] == sum(d["time"].startswith(day) for d in every) > 0


def test_one_decision_holds_its_full_typed_trace(ops_server: OpsServer) -> None:
    with ops_server.client() as client:
        listed = client.get("/v1/decisions", params={"verdict": "approved", "limit": 1}).json()
        ref = listed["decisions"][0]["ref"]
        detail = client.get(f"/v1/decisions/{ref}").json()

    assert detail["ref"] == ref and detail["why"]["verdict"] == "approved"
    assert detail["trace"]["run_id"] == RUN_ID and detail["trace"]["hash"]
    assert detail["trace"]["proposal"]["action"] == listed["decisions"][0]["action"]


@pytest.mark.parametrize(
    ("ref", "status"), [(f"{RUN_ID}:999999", 404), ("no-such-run:1", 404), ("not-a-ref", 422)]
)
def test_an_unknown_or_malformed_ref_is_one_line(
    ops_server: OpsServer, ref: str, status: int
) -> None:
    with ops_server.client() as client:
        response = client.get(f"/v1/decisions/{ref}")

    assert error_of(response)[0] == status


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/decisions", {"from": "yesterday"}),
        ("/v1/decisions", {"to": "2024-13-45"}),
        ("/v1/decisions", {"from": "2024-02-01", "to": "2024-01-01"}),
        ("/v1/decisions", {"limit": "0"}),
        ("/v1/decisions", {"verdict": "maybe"}),
        ("/v1/equity", {"from": "99999999999999999999"}),
        ("/v1/portfolio", {"account": "a/b"}),
        ("/v1/ohlcv", {"market": "/etc/passwd"}),
        ("/v1/ohlcv", {"from": "soon"}),
        ("/v1/memory/search", {"q": "   "}),
    ],
)
def test_bad_input_is_422_in_one_line(
    ops_server: OpsServer, path: str, params: dict[str, str]
) -> None:
    with ops_server.client() as client:
        response = client.get(path, params=params)

    status, code, message = error_of(response)
    assert (status, code) == (422, "invalid_request"), message


def test_portfolio_positions_orders_and_fills_read_the_served_account(
    ops_server: OpsServer,
) -> None:
    with ops_server.client() as client:
        portfolio = client.get("/v1/portfolio").json()
        positions = client.get("/v1/positions").json()
        orders = client.get("/v1/orders", params={"limit": 50}).json()
        fills = client.get("/v1/fills", params={"limit": 50}).json()

    assert portfolio["account"] == ACCOUNT and portfolio["known"]
    assert positions["positions"] == portfolio["positions"]
    stored_orders, stored_fills = ledger_rows(ops_server.run.data, ACCOUNT)
    assert len(orders["orders"]) + orders["left_out"] == len(stored_orders) > 0
    assert len(fills["fills"]) + fills["left_out"] == len(stored_fills) > 0
    assert [o["time"] for o in orders["orders"]] == sorted(
        (o["time"] for o in orders["orders"]), reverse=True
    )


def test_an_account_that_never_traded_holds_its_starting_cash(ops_server: OpsServer) -> None:
    with ops_server.client() as client:
        portfolio = client.get("/v1/portfolio", params={"account": "fresh"}).json()
        fills = client.get("/v1/fills", params={"account": "fresh"}).json()

    assert not portfolio["known"] and portfolio["equity"] == portfolio["initial_cash"]
    assert ACCOUNT in portfolio["known_accounts"] and fills["fills"] == []


def test_equity_history_follows_the_accounts_decisions(ops_server: OpsServer) -> None:
    with ops_server.client() as client:
        equity = client.get("/v1/equity", params={"limit": 5000}).json()
        last = client.get("/v1/decisions", params={"limit": 1}).json()["decisions"][0]

    assert equity["runs"] == [RUN_ID]
    points = equity["points"]
    assert len(points) == ops_server.run.cycles
    assert [p["ts"] for p in points] == sorted(p["ts"] for p in points)
    assert points[-1]["ref"] == last["ref"] and points[-1]["equity"] == last["equity"]


def test_memory_search_finds_situations_and_lessons(ops_server: OpsServer) -> None:
    with ops_server.client() as client:
        found = client.get("/v1/memory/search", params={"q": "stop-loss hit", "limit": 3}).json()

    assert 0 < len(found["situations"]) <= 3
    assert all(s["decision"].startswith(f"{RUN_ID}:") for s in found["situations"])


def test_ohlcv_is_the_served_market_bounded_in_rows(ops_server: OpsServer) -> None:
    with ops_server.client() as client:
        some = client.get("/v1/ohlcv", params={"limit": 24, "timeframe": "1h"}).json()
        other = client.get("/v1/ohlcv", params={"market": "synthetic:9", "limit": 3}).json()

    assert some["synthetic"] and len(some["candles"]) == 24 and some["left_out"] > 0
    times = [c["ts"] for c in some["candles"]]
    assert times == sorted(times) and all(c["low"] <= c["high"] for c in some["candles"])
    assert other["market"] != some["market"] and len(other["candles"]) == 3


def test_healthz_and_readyz_answer_without_a_key(ops_server: OpsServer) -> None:
    with ops_server.client(role=None) as client:
        health = client.get("/healthz")
        wait_until_ready(ops_server.url)  # it reads the decision index while it starts
        ready = client.get("/readyz")

    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready", "ledger": "open", "risk_state": "open", "traces": "open",
        "decision_index": "read",
    }  # fmt: skip
