"""Every request needs a live API key; approving a trade needs a trader's. Against the real app
under uvicorn on 127.0.0.1, keys made by the real key store."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from core.api_keys import open_api_keys
from core.backends import Storage
from tests.api.server.server_support import error_of, make_keys, served_chat, stream_turn
from tests.graphs.chat.chat_support import SYMBOL, ledger_rows

TRADE = f"/trade buy 1 {SYMBOL} --stop 75"
HOW = "`tradegraph keys create --name NAME --role viewer|trader|admin`"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/chat"),
        ("GET", "/v1/chat/t1"),
        ("POST", "/v1/chat/t1/approve"),
        ("POST", "/v1/chat/t1/reject"),
    ],
)
def test_no_key_is_401_saying_how_to_create_one(tmp_path: Path, method: str, path: str) -> None:
    with served_chat(tmp_path) as served, served.client() as client:
        response = client.request(method, path, json={"text": "/risk", "approval_id": "ap-1"})

    status, code, message = error_of(response)
    assert (status, code) == (401, "missing_key")
    assert HOW in message and "Authorization: Bearer KEY" in message
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer tg_not-a-key"},
        {"X-API-Key": "tg_not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_a_wrong_key_is_401_and_never_echoed(tmp_path: Path, headers: dict[str, str]) -> None:
    make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(**headers) as client:
        response = client.get("/v1/chat/t1")

    assert error_of(response)[0] == 401
    assert "not-a-key" not in response.text and "dXNlcjpwYXNz" not in response.text


def test_a_key_revoked_while_the_server_runs_is_refused_at_its_next_request(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        before, _ = stream_turn(client, "/help")
        with closing(open_api_keys(Storage(tmp_path))) as keys:
            keys.revoke("trader")
        after, _ = stream_turn(client, "/help")

    assert before.status_code == 200
    assert error_of(after)[:2] == (401, "invalid_key")


def test_the_key_may_come_as_x_api_key(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(**{"X-API-Key": tokens["viewer"]}) as c:
        response, events = stream_turn(c, "/help")

    assert response.status_code == 200 and events[-1][0] == "answer"


def test_a_viewer_reads_but_cannot_approve_and_the_trade_still_waits(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with (
        served_chat(tmp_path) as served,
        served.client(tokens["trader"]) as trader,
        served.client(tokens["viewer"]) as viewer,
    ):
        _, events = stream_turn(trader, TRADE)
        approval = events[-1][1]["data"]["approval_id"]

        read = viewer.get("/v1/chat/t1")
        refused = viewer.post("/v1/chat/t1/approve", json={"approval_id": approval})
        still = trader.get("/v1/chat/t1").json()["pending"]

    assert read.status_code == 200 and read.json()["pending"]["approval_id"] == approval
    status, code, message = error_of(refused)
    assert (status, code) == (403, "role_too_low")
    assert (
        message == "key 'viewer' is a viewer's: deciding on a trade needs a trader's key or above"
    )
    assert still["approval_id"] == approval
    assert ledger_rows(tmp_path) == ([], [])


def test_a_viewer_cannot_propose_a_trade(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["viewer"]) as client:
        response, _ = stream_turn(client, TRADE)

    assert error_of(response)[:2] == (403, "not_allowed")


def test_the_key_name_is_the_actor_in_the_thread(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        _, events = stream_turn(client, TRADE)
        approval = events[-1][1]["data"]["approval_id"]
        rejected = client.post("/v1/chat/t1/reject", json={"approval_id": approval})

    assert "rejected by trader: nothing was traded" in rejected.json()["events"][-1]["text"]
