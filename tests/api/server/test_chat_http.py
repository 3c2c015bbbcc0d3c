"""The chat over HTTP as a client sees it: the real app under uvicorn on 127.0.0.1, a real
engine on a data directory, an httpx client reading the server-sent events as they come."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphs.chat.model_port import ModelReply
from tests.api.server.server_support import error_of, make_keys, served_chat, stream_turn
from tests.graphs.chat.chat_support import SYMBOL, ledger_rows
from tests.graphs.chat.scripted_model import BUY, ScriptedModel, calls, says

TRADE = f"/trade buy 1 {SYMBOL} --stop 75"


def test_a_slash_command_streams_one_event_per_frame_ending_with_the_answer(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["viewer"]) as client:
        response, events = stream_turn(client, "/risk")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert [name for name, _ in events] == ["tool_call", "tool_result", "answer"]
    assert all(data["kind"] == name and data["thread"] == "t1" for name, data in events)
    assert events[0][1]["tool"] == "risk_status"
    assert "account chat: ACTIVE" in events[-1][1]["text"]


def test_a_model_streams_its_tokens_then_its_answer(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    model = ScriptedModel(says("Risk is low today."))
    with served_chat(tmp_path, model=model) as served, served.client(tokens["trader"]) as client:
        _, events = stream_turn(client, "how risky is my book?")

    assert [name for name, _ in events] == ["token"] * 4 + ["answer"]
    assert "".join(data["text"] for name, data in events[:-1]) == "Risk is low today. "
    assert events[-1][1]["text"] == "Risk is low today."


def test_a_thread_is_made_up_when_none_is_given(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["viewer"]) as client:
        with client.stream("POST", "/v1/chat", json={"text": "/help"}) as response:
            body = response.read().decode()
        thread = body.split('"thread":"', 1)[1].split('"', 1)[0]
        view = client.get(f"/v1/chat/{thread}")

    assert thread.startswith("t") and view.status_code == 200
    assert [m["role"] for m in view.json()["messages"]] == ["user", "assistant"]


class FirstTokenThenWait:
    """A model that streams its first token at once, then waits to be let go."""

    model = "waiting"

    def __init__(self) -> None:
        self.go = threading.Event()

    def step(self, system: str, messages: Any, tools: Any, on_token: Any) -> ModelReply:
        on_token("Thinking ")
        self.go.wait(30)
        on_token("done.")
        return ModelReply(
            text="Thinking done.",
            tool_calls=(),
            input_tokens=10,
            output_tokens=2,
            cost_usd=0.0,
            stop_reason="end_turn",
        )


def test_events_arrive_as_they_happen_and_a_slow_model_blocks_no_other_request(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    model = FirstTokenThenWait()
    with (
        served_chat(tmp_path, model=model) as served,
        served.client(tokens["trader"]) as client,
        client.stream("POST", "/v1/chat", json={"thread": "slow", "text": "hm?"}) as slow,
    ):
        lines = slow.iter_lines()
        first = [next(lines), next(lines)]  # the first event, while the model still waits
        _, other = stream_turn(client, "/help", thread="other")
        model.go.set()
        rest = list(lines)

    assert first == ["event: token", 'data: {"kind":"token","thread":"slow","text":"Thinking "}']
    assert other[-1][0] == "answer"
    assert "event: answer" in rest


def test_a_trade_the_model_proposes_waits_for_a_trader_who_approves_it(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    model = ScriptedModel(calls("propose_trade", BUY), says("Noted."))
    with served_chat(tmp_path, model=model) as served, served.client(tokens["trader"]) as client:
        _, events = stream_turn(client, "buy the dip")
        approval = events[-1][1]["data"]["approval_id"]
        waiting = client.get("/v1/chat/t1").json()["pending"]
        assert ledger_rows(tmp_path) == ([], [])

        approved = client.post("/v1/chat/t1/approve", json={"approval_id": approval})

    assert [name for name, _ in events] == ["approval"]
    assert waiting["approval_id"] == approval and waiting["approved_by_validator"] is True
    assert approved.status_code == 200
    assert approved.json()["events"][-1]["kind"] == "answer"
    assert approved.json()["events"][-1]["text"].startswith(f"filled buy 1 {SYMBOL} at ")
    orders, fills = ledger_rows(tmp_path)
    assert [(o.side, status) for o, status in orders] == [("buy", "filled")]
    assert [f.quantity for f in fills] == [1.0]


def test_a_rejected_trade_places_nothing(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["admin"]) as client:
        _, events = stream_turn(client, TRADE)
        approval = events[-1][1]["data"]["approval_id"]

        rejected = client.post(
            "/v1/chat/t1/reject", json={"approval_id": approval, "reason": "too late"}
        )

    assert rejected.status_code == 200
    assert "rejected by admin: nothing was traded" in rejected.json()["events"][-1]["text"]
    assert ledger_rows(tmp_path) == ([], [])


def test_a_trade_proposed_before_a_restart_is_approved_after_it(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        _, events = stream_turn(client, TRADE)
    approval = events[-1][1]["data"]["approval_id"]

    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        pending = client.get("/v1/chat/t1").json()["pending"]
        approved = client.post("/v1/chat/t1/approve", json={"approval_id": approval})

    assert pending["approval_id"] == approval
    assert approved.status_code == 200, approved.text
    assert approved.json()["events"][-1]["text"].startswith(f"filled buy 1 {SYMBOL} at ")
    assert [f.quantity for f in ledger_rows(tmp_path)[1]] == [1.0]


def test_an_expired_approval_is_410_and_nothing_is_traded(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    now = [1_800_000_000_000]
    with (
        served_chat(tmp_path, clock=lambda: now[0]) as served,
        served.client(tokens["trader"]) as client,
    ):
        _, events = stream_turn(client, TRADE)
        approval = events[-1][1]["data"]["approval_id"]
        now[0] = events[-1][1]["data"]["expires_at_ms"] + 1

        late = client.post("/v1/chat/t1/approve", json={"approval_id": approval})

    status, code, message = error_of(late)
    assert (status, code) == (410, "approval_expired")
    assert message == f"approval {approval} expired unanswered: nothing was traded; ask again"
    assert ledger_rows(tmp_path) == ([], [])


def test_a_thread_waiting_for_a_decision_is_busy_409(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        stream_turn(client, TRADE)
        busy, events = stream_turn(client, "/risk")
        wrong = client.post("/v1/chat/t1/approve", json={"approval_id": "ap-other"})

    assert events == []
    assert error_of(busy)[:2] == (409, "thread_busy")
    assert "approve or reject it first" in error_of(busy)[2]
    assert error_of(wrong)[:2] == (409, "nothing_to_approve")


def test_an_unknown_thread_is_404_with_what_to_do(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        viewed = client.get("/v1/chat/nope")
        approved = client.post("/v1/chat/nope/approve", json={"approval_id": "ap-1"})

    assert error_of(viewed) == (
        404,
        "unknown_thread",
        "no thread 'nope': start it by sending a message",
    )
    assert error_of(approved)[:2] == (404, "unknown_thread")


@pytest.mark.parametrize(
    ("content", "headers", "message"),
    [
        (
            b'{"thread": "t1", "text": ',
            {"Content-Type": "application/json"},
            "the body is not valid JSON",
        ),
        (b'{"thread": "t1"}', {"Content-Type": "application/json"}, "text: field required"),
        (
            b'{"text": "/risk", "colour": "red"}',
            {"Content-Type": "application/json"},
            "colour: no such field",
        ),
        (
            b'{"thread": "t1", "text": "/risk"}',
            {"Content-Type": "application/x-www-form-urlencoded"},
            "sent with `Content-Type: application/json`",
        ),
        (b"", {}, "the body must be a JSON object"),
    ],
)
def test_a_malformed_body_is_422_with_one_line_saying_what_to_send(
    tmp_path: Path, content: bytes, headers: dict[str, str], message: str
) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        response = client.post("/v1/chat", content=content, headers=headers)

    status, code, line = error_of(response)
    assert (status, code) == (422, "invalid_request")
    assert message in line


def test_a_body_over_the_limit_is_413_before_it_is_read(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        response = client.post("/v1/chat", json={"thread": "t1", "text": "x" * 100_000})

    assert error_of(response) == (
        413,
        "body_too_large",
        "the body is too large: a message holds at most 8,000 characters",
    )


def test_a_bad_thread_id_is_400_in_the_error_body(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        response, _ = stream_turn(client, "/risk", thread="../etc")

    status, code, message = error_of(response)
    assert (status, code) == (400, "bad_request")
    assert message.startswith("thread id '../etc' is not usable")


def test_an_unknown_route_is_a_json_404(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        response = client.get("/v2/nothing")

    assert error_of(response) == (404, "not_found", "no route GET /v2/nothing: /docs lists them")


def test_the_docs_and_the_openapi_document_are_served(tmp_path: Path) -> None:
    with served_chat(tmp_path) as served, served.client() as client:
        docs = client.get("/docs")
        document = client.get("/openapi.json").json()

    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert set(document["paths"]) == {
        "/v1/chat",
        "/v1/chat/{thread}",
        "/v1/chat/{thread}/approve",
        "/v1/chat/{thread}/reject",
    }
    assert set(document["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}
    streamed = document["paths"]["/v1/chat"]["post"]["responses"]["200"]["content"]
    assert "text/event-stream" in streamed


def test_a_chunked_body_over_the_limit_is_413_too(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)

    def chunks() -> Iterator[bytes]:
        yield b'{"thread": "t1", "text": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    with served_chat(tmp_path) as served, served.client(tokens["trader"]) as client:
        response = client.post(
            "/v1/chat", content=chunks(), headers={"Content-Type": "application/json"}
        )

    assert error_of(response)[:2] == (413, "body_too_large")


def test_a_thread_over_its_budget_is_429_and_its_slash_commands_still_answer(
    tmp_path: Path,
) -> None:
    tokens = make_keys(tmp_path)
    model = ScriptedModel(says("One."), says("Two."))
    with (
        served_chat(tmp_path, model=model, chat={"thread_tokens": 100}) as served,
        served.client(tokens["trader"]) as client,
    ):
        stream_turn(client, "one")
        spent, _ = stream_turn(client, "two")
        slash, events = stream_turn(client, "/risk")

    status, code, message = error_of(spent)
    assert (status, code) == (429, "budget_spent")
    assert "start a new thread" in message
    assert slash.status_code == 200 and events[-1][0] == "answer"
