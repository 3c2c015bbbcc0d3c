"""Changes (chat messages, decisions, agents, evaluations, limits, resumes) are limited per key
by a smaller bucket than reads, shared by every mutating route: over it, 429 with the JSON
error body and Retry-After; a halt is never held back. Served over a real socket."""

from __future__ import annotations

from pathlib import Path

from api.server.rate_limit import WRITE_LIMIT, KeyBuckets, RateLimit
from core.server_settings import ServerSettings
from tests.api.server.operator_support import served_operator
from tests.api.server.server_support import error_of, make_keys

LIMITS = {"risk": {"max_order_notional": 5000}}
ONE_CHANGE = RateLimit(rate=0.1, burst=1)
"""One change at once, the next after 10 s: longer than a test takes."""


def test_a_key_past_its_write_burst_gets_429_with_retry_after_on_every_mutating_route(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with (
        served_operator(tmp_path, writes=KeyBuckets(ONE_CHANGE)) as served,
        served.client(tokens["admin"]) as admin,
    ):
        first = admin.put("/v1/risk/limits", json=LIMITS)
        refused = [
            admin.post("/v1/chat", json={"thread": "t1", "text": "/risk"}),
            admin.put("/v1/risk/limits", json=LIMITS),
            admin.post("/v1/risk/resume", json={"reason": "drill over"}),
            admin.post("/v1/agents", json={"name": "demo", "market": "synthetic:42"}),
            admin.post("/v1/agents/demo/stop"),
            admin.post("/v1/evals", json={"market": "synthetic:5", "bars": 50}),
        ]
        read = admin.get("/v1/portfolio")

    assert first.status_code == 200, first.text
    for response in refused:
        status, code, message = error_of(response)
        assert (status, code) == (429, "rate_limited"), response.request.url
        assert response.headers["Retry-After"] == "10"
        assert "key 'admin' sent more than 1 requests at once" in message
    assert read.status_code == 200, read.text


def test_each_key_has_its_own_write_bucket(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with (
        served_operator(tmp_path, writes=KeyBuckets(ONE_CHANGE)) as served,
        served.client(tokens["trader"]) as trader,
        served.client(tokens["viewer"]) as viewer,
    ):
        spent = trader.post("/v1/chat", json={"thread": "t1", "text": "/risk"})
        over = trader.post("/v1/chat", json={"thread": "t1", "text": "/risk"})
        other = viewer.post("/v1/chat", json={"thread": "t2", "text": "/risk"})

    assert spent.status_code == 200 and other.status_code == 200, other.text
    assert error_of(over)[:2] == (429, "rate_limited")


def test_a_halt_is_never_held_back_by_the_write_limit(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with (
        served_operator(tmp_path, writes=KeyBuckets(ONE_CHANGE)) as served,
        served.client(tokens["admin"]) as admin,
    ):
        spent = admin.put("/v1/risk/limits", json=LIMITS)
        halts = [admin.post("/v1/risk/halt", json={"reason": f"drill {n}"}) for n in range(3)]
        status = admin.get("/v1/risk/status").json()

    assert spent.status_code == 200
    assert [h.status_code for h in halts] == [200, 200, 200], halts[-1].text
    assert status["halted"] and status["global_kill_switch"]["state"] == "halt"


def test_the_server_settings_defaults_are_the_buckets_defaults() -> None:
    server = ServerSettings()

    assert RateLimit(server.read_rate, server.read_burst) == RateLimit()
    assert RateLimit(server.write_rate, server.write_burst) == WRITE_LIMIT
    assert (WRITE_LIMIT.rate, WRITE_LIMIT.burst) == (2.0, 10)
