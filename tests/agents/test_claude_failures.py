"""What the Claude analyst reports when a request fails: the kind, one line saying what went
wrong (never the key), and whether the model was asked at all. Real SDK, local transports."""

import json
import socket

import anthropic
import httpx2 as httpx
import pytest

from agents.claude import describe_failure
from core.types import TradingState
from tests.agents.reference_model import (
    make_analyst,
    scenario_brief,
    scenario_history,
    scenario_research,
)

KEY = "sk-ant-api03-failure-test-0123456789"


@pytest.fixture(scope="module")
def history():
    return scenario_history()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answering(status: int, error_type: str, message: str) -> anthropic.Anthropic:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    return anthropic.Anthropic(
        api_key=KEY,
        base_url="http://127.0.0.1:9",
        max_retries=0,
        http_client=httpx.Client(transport=transport),
    )


def test_connection_refused_names_the_network_error(history):
    client = anthropic.Anthropic(
        api_key=KEY, base_url=f"http://127.0.0.1:{_closed_port()}", max_retries=0
    )

    result = make_analyst(client).propose(scenario_brief(history), scenario_research(history))

    assert result.error_kind == "APIConnectionError"
    assert result.error is not None
    assert result.error.startswith("APIConnectionError: Connection error: ")
    assert "Connection refused" in result.error
    assert result.consulted
    assert f"LLM call failed ({result.error})" in result.proposal.thesis


def test_a_refused_key_says_so_without_the_key(history):
    client = _answering(401, "authentication_error", "invalid x-api-key")

    result = make_analyst(client).propose(scenario_brief(history), scenario_research(history))

    assert result.error_kind == "AuthenticationError"
    assert result.error == "AuthenticationError 401: invalid x-api-key"
    assert KEY not in json.dumps(result.model_dump(mode="json"))


def test_a_key_echoed_by_the_server_is_blanked_out(history):
    echoed = f"bad header x-api-key: {KEY} (and sk-ant-x1)"
    client = _answering(400, "invalid_request_error", echoed)

    result = make_analyst(client).propose(scenario_brief(history), scenario_research(history))

    assert result.error == "BadRequestError 400: bad header x-api-key: [key] (and [key])"
    assert "sk-ant" not in json.dumps(result.model_dump(mode="json"))


def test_a_timeout_is_a_short_line():
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/messages")
    timeout = anthropic.APITimeoutError(request)

    text = describe_failure(timeout)

    assert text.startswith("APITimeoutError: Request timed out or interrupted")
    assert len(text) < 80


def test_a_cycle_without_a_request_is_not_consulted(history):
    brief = scenario_brief(history)
    flat_and_halted = brief.model_copy(update={"trading_state": TradingState.HALTED})
    client = _answering(500, "api_error", "never asked")

    result = make_analyst(client).propose(flat_and_halted, scenario_research(history))

    assert result.error is None
    assert not result.consulted
    assert result.usage.requests == 0
