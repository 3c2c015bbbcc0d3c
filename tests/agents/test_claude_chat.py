"""ClaudeChat over the real SDK, talking to the scripted streaming Messages API
(tests/agents/sse_reference.py) through httpx's MockTransport: what it sends, what it makes of
the stream, and how failures come back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx2 as httpx
import pytest
from pydantic import SecretStr

from agents.base import LlmUsage
from agents.budget import request_cost
from agents.claude_chat import ClaudeChat, claude_chat_from_settings
from core.chat_model import ChatModelError
from core.settings import DEFAULT_PRICES, Settings
from graphs.chat.contract import BudgetSpentError
from graphs.chat.service import ChatEngine
from tests.agents.sse_reference import MODEL, Call, StreamingReference, sse
from tests.graphs.chat.chat_support import chat_settings

KEY = "sk-ant-api03-" + "k" * 40
TOOLS = [{"name": "risk_status", "description": "risk", "input_schema": {"type": "object"}}]


class Api:
    """The scripted API behind a real client; keeps every request body."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.seen: list[dict[str, Any]] = []
        self.ref = StreamingReference()

    def client(self, *, max_retries: int = 0) -> anthropic.Anthropic:
        def transport(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            self.seen.append(body)
            answer = self.answers.pop(0)
            return answer(self.ref, body) if callable(answer) else answer

        return anthropic.Anthropic(
            api_key=KEY,
            base_url="https://api.anthropic.com",
            max_retries=max_retries,
            http_client=httpx.Client(transport=httpx.MockTransport(transport)),
        )


def says(text: str, *calls: Call) -> Any:
    return lambda ref, body: ref.answer(body, text, calls)


def chat(api: Api, **changes: Any) -> ClaudeChat:
    return ClaudeChat(
        api.client(**changes), model=MODEL, max_tokens=256, price=DEFAULT_PRICES[MODEL]
    )


def test_text_streams_token_by_token_and_the_reply_is_priced() -> None:
    api = Api(says("RSI is 41 on the last close, so not oversold."))
    tokens: list[str] = []

    reply = chat(api).step("system", [{"role": "user", "content": "rsi?"}], TOOLS, tokens.append)

    assert len(tokens) > 1 and "".join(tokens) == reply.text
    assert reply.stop_reason == "end_turn" and reply.tool_calls == ()
    usage = LlmUsage(
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
        cache_read_tokens=reply.cache_read_tokens,
        cache_creation_tokens=reply.cache_creation_tokens,
    )
    assert reply.cache_creation_tokens > 0 and reply.cost_usd > 0
    assert reply.cost_usd == pytest.approx(request_cost(usage, DEFAULT_PRICES[MODEL]))


def test_tool_calls_come_back_whole_from_their_json_deltas() -> None:
    payload = {"strategy": "bollinger", "symbol": "SYN/USDT", "days": 30, "nested": {"k": [1, 2]}}
    api = Api(says("Running it.", Call("backtest_strategy", payload)))

    reply = chat(api).step("system", [{"role": "user", "content": "bt"}], TOOLS, lambda t: None)

    [call] = reply.tool_calls
    assert (call.name, call.input) == ("backtest_strategy", payload)
    assert reply.stop_reason == "tool_use" and reply.text == "Running it."


def test_the_prefix_and_the_conversation_carry_cache_breakpoints() -> None:
    api = Api(says("ok"))
    messages = [{"role": "user", "content": "hello"}]

    chat(api).step("the system prompt", messages, TOOLS, lambda t: None)

    [body] = api.seen
    assert body["stream"] is True
    assert body["system"] == [
        {"type": "text", "text": "the system prompt", "cache_control": {"type": "ephemeral"}}
    ]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert messages == [{"role": "user", "content": "hello"}]  # the caller's list untouched
    assert "cache_control" not in TOOLS[-1]


def test_a_last_round_sends_the_tools_with_tool_choice_none_as_the_api_requires() -> None:
    api = Api(says("", Call("risk_status", {})), says("Done: ACTIVE."))
    model = chat(api)
    first = model.step("s", [{"role": "user", "content": "risk?"}], TOOLS, lambda t: None)
    [call] = first.tool_calls
    messages = [
        {"role": "user", "content": "risk?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": call.call_id,
                                           "name": call.name, "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.call_id,
                                      "content": '{"state": "ACTIVE"}'}]},
    ]  # fmt: skip

    last = model.step("s", messages, [], lambda t: None)

    assert last.text == "Done: ACTIVE."
    assert api.seen[1]["tool_choice"] == {"type": "none"}
    assert [t["name"] for t in api.seen[1]["tools"]] == ["risk_status"]


def test_the_tool_round_limit_holds_on_the_real_sdk_path(tmp_path: Path) -> None:
    settings = chat_settings(tmp_path, chat={"max_tool_rounds": 1})
    api = Api(says("", Call("risk_status", {})), says("The account is ACTIVE."))
    with ChatEngine(settings, model=chat(api)) as engine:
        events = list(engine.send("t1", "what is my risk?", actor="alice", role="trader"))

    assert events[-1].kind == "answer" and events[-1].text == "The account is ACTIVE."
    assert api.seen[1]["tool_choice"] == {"type": "none"}


@pytest.mark.parametrize(
    ("status", "error_type"), [(529, "overloaded_error"), (401, "authentication_error")]
)
def test_an_api_error_is_one_line_with_its_kind_and_no_key(status: int, error_type: str) -> None:
    error = {"type": "error", "error": {"type": error_type, "message": f"bad key {KEY}"}}
    api = Api(httpx.Response(status, json=error))

    with pytest.raises(ChatModelError) as failed:
        chat(api).step("s", [{"role": "user", "content": "hi"}], TOOLS, lambda t: None)

    assert failed.value.kind == error_type
    line = str(failed.value)
    assert str(status) in line and KEY not in line and "\n" not in line


def test_an_error_event_in_the_middle_of_the_stream_is_a_chat_model_error() -> None:
    broken = "".join(
        [
            sse("message_start", {"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
                "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 1}}}),
            sse("error", {"type": "error", "error": {"type": "overloaded_error",
                                                     "message": "Overloaded"}}),
        ]
    )  # fmt: skip
    api = Api(
        httpx.Response(200, content=broken.encode(), headers={"content-type": "text/event-stream"})
    )

    with pytest.raises(ChatModelError, match="Overloaded") as failed:
        chat(api).step("s", [{"role": "user", "content": "hi"}], TOOLS, lambda t: None)
    assert failed.value.kind == "overloaded_error"


def test_settings_give_claude_with_a_key_or_an_endpoint_and_nothing_without(
    tmp_path: Path,
) -> None:
    bare = Settings(data_dir=tmp_path)
    keyed = bare.model_copy(update={"anthropic_api_key": SecretStr(KEY)})

    assert claude_chat_from_settings(bare, environ={}) is None
    assert claude_chat_from_settings(keyed, environ={}) is not None
    by_url = claude_chat_from_settings(bare, environ={"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    assert by_url is not None and by_url.model == bare.anthropic.model
    assert claude_chat_from_settings(bare, replaying=True, environ={}) is not None


def test_a_threads_budget_counts_the_prefix_written_to_the_cache(tmp_path: Path) -> None:
    settings = chat_settings(tmp_path, chat={"thread_tokens": 1_000})
    api = Api(says("First."), says("Second."))
    with ChatEngine(settings, model=chat(api)) as engine:
        list(engine.send("t1", "one", actor="alice", role="trader"))
        used = engine.view("t1").tokens_used

        with pytest.raises(BudgetSpentError, match="1,000 tokens"):
            engine.send("t1", "two", actor="alice", role="trader")

    assert len(api.seen) == 1
    assert used > 1_000  # fresh input and output alone are a few dozen tokens
