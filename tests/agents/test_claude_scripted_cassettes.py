"""Scripted Anthropic exchanges replayed through the real SDK and its real HTTP transport.

vcrpy intercepts the transport and answers from tests/cassettes/anthropic/scripted: the
requests in them are the real SDK's, the answers are scripted from the Messages API reference
(tests/agents/reference_model.py), not recorded from the live API. Requests must match the
cassette byte for byte in their body, so these tests also pin the request the analyst sends.
"""

import anthropic
import pytest

from agents.base import LlmUsage
from agents.cassettes import cassette_config
from core.types import Action
from tests.agents.reference_model import (
    BASE_URL,
    SCRIPTED_CASSETTES,
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
def replay_scripted(history):
    """Run the analyst once over the scenario's scripted cassette; the result and the tape."""

    def run(scenario: str):
        client = anthropic.Anthropic(
            api_key="sk-ant-replay-placeholder", base_url=BASE_URL, max_retries=2
        )
        analyst = make_analyst(client, limits_for(scenario))
        path = SCRIPTED_CASSETTES / f"{scenario}.yaml"
        with cassette_config("none").use_cassette(str(path)) as tape:
            result = analyst.propose(scenario_brief(history), scenario_research(history))
            return result, tape

    return run


def test_scripted_one_shot_cycle_is_one_request_ending_in_a_proposal(replay_scripted):
    result, tape = replay_scripted("one_shot")

    assert tape.play_count == 1 and tape.all_played
    assert result.proposal.action in set(Action)
    assert result.usage.requests == 1 and result.usage.cost_usd > 0


def test_scripted_multi_round_tool_use_cycle_ends_in_a_validated_proposal(replay_scripted):
    result, tape = replay_scripted("tool_rounds")

    assert tape.play_count == 3 and tape.all_played
    assert result.proposal.action is Action.BUY and result.proposal.stop_loss is not None
    assert result.usage.requests == 3
    tool_turns = [m for m in result.messages if m["role"] == "user"][1:]
    assert [b["type"] for m in tool_turns for b in m["content"]] == ["tool_result"] * 3


def test_scripted_invalid_answer_is_retried_once_and_the_retry_is_used(replay_scripted):
    result, tape = replay_scripted("invalid_then_valid")

    assert tape.play_count == 2
    assert result.proposal.action is Action.BUY and result.proposal.confidence <= 1
    assert "corrected" in result.proposal.thesis


def test_scripted_overloaded_answer_is_retried_then_succeeds(replay_scripted):
    result, tape = replay_scripted("overloaded_then_success")

    assert tape.play_count == 2 and tape.responses[0]["status"]["code"] == 529
    assert result.error is None and result.usage.requests == 1


def test_scripted_refusal_is_hold(replay_scripted):
    result, _ = replay_scripted("refusal")

    assert result.proposal.action is Action.HOLD and "refusal" in result.proposal.thesis


def test_scripted_budget_stop_ends_the_cycle_as_hold_and_names_the_budget(replay_scripted):
    result, tape = replay_scripted("budget_stop")

    assert tape.play_count == 1
    assert result.proposal.action is Action.HOLD
    assert result.budget_exhausted is not None and result.budget_exhausted.scope == "run"
    assert result.usage.tokens > limits_for("budget_stop").run_tokens
    assert isinstance(result.usage, LlmUsage)


def test_every_scripted_cassette_says_so_and_holds_no_credential_or_client_fingerprint():
    paths = sorted(SCRIPTED_CASSETTES.glob("*.yaml"))
    texts = [path.read_text() for path in paths]

    assert {p.stem for p in paths} >= {"one_shot", "tool_rounds", "run_synthetic5_120"}
    for text in texts:
        lowered = text.lower()
        assert text.startswith("# SCRIPTED, not recorded from the live API")
        assert "sk-ant" not in lowered
        assert "authorization" not in lowered and "x-api-key" not in lowered
        assert "x-stainless" not in lowered
