"""The Claude analyst through the real Anthropic SDK, its HTTP answered by a local transport.

The responses follow the Messages API reference (tool_use content blocks, usage with cache
fields); no network is used.
"""

import json

import anthropic
import httpx2 as httpx

from agents.claude import SUBMIT_TOOL, ClaudeAnalyst
from core.types import Action


def _message(content, stop_reason="tool_use"):
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 812,
            "output_tokens": 95,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 640,
        },
    }


def _tool_use(payload):
    return [{"type": "tool_use", "id": "toolu_01", "name": "submit_proposal", "input": payload}]


def _analyst(handler, requests):
    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return handler(request)

    client = anthropic.Anthropic(
        api_key="sk-ant-test-not-a-real-key",
        base_url="http://127.0.0.1:9",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(record)),
    )
    return ClaudeAnalyst(client, model="claude-sonnet-4-6", max_tokens=512)


def test_tool_use_answer_becomes_a_typed_proposal_with_usage(make_brief):
    payload = {
        "action": "BUY",
        "symbol": "SYN/USDT",
        "size_fraction": 0.2,
        "stop_loss": 97.0,
        "take_profit": 106.0,
        "confidence": 0.7,
        "thesis": "uptrend with positive momentum",
    }
    sent = []
    analyst = _analyst(lambda r: httpx.Response(200, json=_message(_tool_use(payload))), sent)

    result = analyst.propose(make_brief())

    assert result.proposal.action is Action.BUY
    assert result.proposal.size_fraction == 0.2
    assert result.usage.cache_read_tokens == 640
    assert result.model == "claude-sonnet-4-6"
    assert result.prompt_version.startswith("analyst_system@")


def test_request_has_a_cacheable_prefix_and_forces_the_proposal_tool(make_brief):
    sent = []
    analyst = _analyst(
        lambda r: httpx.Response(200, json=_message(_tool_use({"action": "HOLD"}))), sent
    )

    analyst.propose(make_brief())
    body = json.loads(sent[0].content)

    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["tool_choice"] == {"type": "tool", "name": "submit_proposal"}
    assert body["tools"][0]["name"] == SUBMIT_TOOL["name"]
    assert "<brief>" in body["messages"][0]["content"]


def test_invalid_proposal_becomes_hold_with_the_reason(make_brief):
    junk = {"action": "YOLO", "symbol": "SYN/USDT", "confidence": 3, "thesis": "x"}
    analyst = _analyst(lambda r: httpx.Response(200, json=_message(_tool_use(junk))), [])

    proposal = analyst.propose(make_brief()).proposal

    assert proposal.action is Action.HOLD
    assert "invalid" in proposal.thesis


def test_api_error_becomes_hold_and_the_key_is_not_in_the_trace_messages(make_brief):
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    analyst = _analyst(lambda r: httpx.Response(529, json=overloaded), [])

    result = analyst.propose(make_brief())

    assert result.proposal.action is Action.HOLD
    assert "LLM call failed" in result.proposal.thesis
    assert result.error is not None
    assert "sk-ant-test" not in json.dumps(result.model_dump(mode="json"))


def test_text_only_answer_becomes_hold(make_brief):
    text = [{"type": "text", "text": "I would buy everything."}]
    analyst = _analyst(lambda r: httpx.Response(200, json=_message(text, "end_turn")), [])

    assert analyst.propose(make_brief()).proposal.action is Action.HOLD


def test_key_is_sent_only_in_the_auth_header(make_brief):
    sent = []
    analyst = _analyst(
        lambda r: httpx.Response(200, json=_message(_tool_use({"action": "HOLD"}))), sent
    )

    analyst.propose(make_brief())

    auth = {k: v for k, v in sent[0].headers.items() if "sk-ant-test" in v}
    assert set(auth) <= {"authorization", "x-api-key"} and auth
    assert b"sk-ant-test" not in sent[0].content
