"""Recorded Anthropic exchanges replayed through the real SDK and its real HTTP transport.

vcrpy intercepts the transport and answers from tests/cassettes/anthropic (see the header of
each cassette for how it was made). Requests must match the recording byte for byte in their
body, so these tests also pin the request the analyst sends. With ANTHROPIC_API_KEY set and
`--record-mode=rewrite`, the same tests record against the real API instead.
"""

import os

import anthropic
import pytest

from agents.base import LlmUsage
from agents.cassettes import cassette_config
from core.types import Action
from tests.agents.reference_model import (
    BASE_URL,
    CASSETTES,
    limits_for,
    make_analyst,
    scenario_brief,
    scenario_history,
    scenario_research,
)


@pytest.fixture(scope="module")
def history():
    return scenario_history()


@pytest.fixture
def replay(request, history):
    """Run the analyst once over the scenario's cassette; the result and the requests made."""
    mode = request.config.getoption("--record-mode") or "none"
    key = os.environ.get("ANTHROPIC_API_KEY")
    if mode != "none" and not key:
        pytest.skip("recording needs ANTHROPIC_API_KEY")

    def run(scenario: str):
        client = anthropic.Anthropic(
            api_key=key or "sk-ant-replay-placeholder", base_url=BASE_URL, max_retries=2
        )
        analyst = make_analyst(client, limits_for(scenario))
        with cassette_config(mode).use_cassette(str(CASSETTES / f"{scenario}.yaml")) as tape:
            result = analyst.propose(scenario_brief(history), scenario_research(history))
            return result, tape

    return run


def test_one_shot_cycle_is_one_request_ending_in_a_proposal(replay):
    result, tape = replay("one_shot")

    assert tape.play_count == 1 and tape.all_played
    assert result.proposal.action in set(Action)
    assert result.usage.requests == 1 and result.usage.cost_usd > 0


def test_multi_round_tool_use_cycle_ends_in_a_validated_proposal(replay):
    result, tape = replay("tool_rounds")

    assert tape.play_count == 3 and tape.all_played
    assert result.proposal.action is Action.BUY and result.proposal.stop_loss is not None
    assert result.usage.requests == 3
    tool_turns = [m for m in result.messages if m["role"] == "user"][1:]
    assert [b["type"] for m in tool_turns for b in m["content"]] == ["tool_result"] * 3


def test_invalid_answer_is_retried_once_with_the_error_and_the_retry_is_used(replay):
    result, tape = replay("invalid_then_valid")

    assert tape.play_count == 2
    assert result.proposal.action is Action.BUY and result.proposal.confidence <= 1
    assert "corrected" in result.proposal.thesis


def test_overloaded_answer_is_retried_then_succeeds(replay):
    result, tape = replay("overloaded_then_success")

    assert tape.play_count == 2 and tape.responses[0]["status"]["code"] == 529
    assert result.error is None and result.usage.requests == 1


def test_refusal_is_hold(replay):
    result, _ = replay("refusal")

    assert result.proposal.action is Action.HOLD and "refusal" in result.proposal.thesis


def test_budget_stop_ends_the_cycle_as_hold_and_names_the_budget(replay):
    result, tape = replay("budget_stop")

    assert tape.play_count == 1
    assert result.proposal.action is Action.HOLD
    assert result.budget_exhausted is not None and result.budget_exhausted.scope == "run"
    assert result.usage.tokens > limits_for("budget_stop").run_tokens
    assert isinstance(result.usage, LlmUsage)


def test_no_cassette_holds_a_credential_or_client_fingerprint():
    texts = [path.read_text() for path in sorted(CASSETTES.glob("*.yaml"))]

    assert texts
    for text in texts:
        lowered = text.lower()
        assert "sk-ant" not in lowered
        assert "authorization" not in lowered and "x-api-key" not in lowered
        assert "x-stainless" not in lowered
        assert text.startswith("# Written from the Anthropic Messages API reference")
