"""The Claude analyst through the real Anthropic SDK, its HTTP answered by a local transport.

The answers follow the Messages API reference (see reference_model.py); no network is used.
"""

import json

import anthropic
import httpx2 as httpx
import pytest

from agents.budget import SpendLedger, request_cost
from core.settings import DEFAULT_PRICES, LlmBudget, load_settings
from core.storage import SqliteStateStore
from core.types import Action, TradingState
from tests.agents.reference_model import (
    MODEL,
    RECALLED,
    Reference,
    budget_stop,
    make_analyst,
    scenario_brief,
    scenario_history,
    scenario_research,
    submit,
)

KEY = "sk-ant-test-not-a-real-key"


@pytest.fixture(scope="module")
def history():
    return scenario_history()


@pytest.fixture
def brief(history):
    return scenario_brief(history)


@pytest.fixture
def research(history):
    return scenario_research(history)


def _client(answer, sent, *, max_retries=0):
    def transport(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        sent_headers.append(dict(request.headers))
        return answer(sent[-1])

    sent_headers: list[dict] = []
    client = anthropic.Anthropic(
        api_key=KEY,
        base_url="http://127.0.0.1:9",
        max_retries=max_retries,
        http_client=httpx.Client(transport=httpx.MockTransport(transport)),
    )
    client.sent_headers = sent_headers  # type: ignore[attr-defined]
    return client


def _payload(brief, **changes):
    values = {
        "action": "BUY",
        "symbol": brief.symbol,
        "size_fraction": 0.1,
        "stop_loss": brief.price * 0.97,
        "take_profit": brief.price * 1.06,
        "confidence": 0.7,
        "thesis": "uptrend with positive momentum",
    }
    values.update(changes)
    return values


def _always(ref, payload):
    return lambda body: ref.message(body, [submit(ref, payload)])


def test_one_shot_answer_becomes_a_typed_proposal_with_tokens_and_cost(brief, research):
    ref, sent = Reference(), []
    analyst = make_analyst(_client(_always(ref, _payload(brief)), sent))

    result = analyst.propose(brief, research)

    assert result.proposal.action is Action.BUY
    assert result.proposal.size_fraction == 0.1
    assert result.usage.requests == 1 and len(sent) == 1
    assert result.usage.cache_creation_tokens > 0
    assert result.usage.cost_usd == pytest.approx(request_cost(result.usage, DEFAULT_PRICES[MODEL]))
    assert result.model == MODEL
    assert result.prompt_version.startswith("analyst_system@")


def test_cacheable_prefix_is_byte_identical_across_cycles_and_only_the_brief_changes(
    history, research
):
    ref, sent = Reference(), []
    analyst = make_analyst(_client(lambda b: _always(ref, _payload(brief_a))(b), sent))
    brief_a = scenario_brief(history)
    brief_b = brief_a.model_copy(update={"price": brief_a.price * 1.01, "cash": 9_000.0})

    analyst.propose(brief_a, research)
    analyst.propose(brief_b, research)

    first, second = sent
    prefix = lambda body: json.dumps([body["tools"], body["system"]])  # noqa: E731
    assert prefix(first).encode() == prefix(second).encode()
    assert first["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first["messages"] != second["messages"]
    assert {k for k in first if first[k] != second[k]} == {"messages"}


def test_research_tools_answer_with_data_then_the_proposal_follows(brief, research):
    ref, sent = Reference(), []

    def answer(body):
        if len(body["messages"]) == 1:
            return ref.message(body, [ref.tool_use("higher_timeframe", {"timeframe": "4h"})])
        return ref.message(body, [submit(ref, _payload(brief))])

    result = make_analyst(_client(answer, sent)).propose(brief, research)

    tool_result = sent[1]["messages"][2]["content"][0]
    assert tool_result["type"] == "tool_result" and "is_error" not in tool_result
    assert json.loads(tool_result["content"])["timeframe"] == "4h"
    assert sent[0]["tool_choice"] == {"type": "any"}
    assert result.proposal.action is Action.BUY and result.usage.requests == 2


def test_tool_rounds_are_capped_then_the_proposal_tool_is_forced(brief, research):
    ref, sent = Reference(), []

    def answer(body):
        if body["tool_choice"]["type"] == "tool":
            return ref.message(body, [submit(ref, _payload(brief, action="HOLD"))])
        return ref.message(body, [ref.tool_use("similar_situations", {"k": 3})])

    result = make_analyst(_client(answer, sent), LlmBudget(max_tool_rounds=2)).propose(
        brief, research
    )

    assert [b["tool_choice"]["type"] for b in sent] == ["any", "any", "tool"]
    assert result.proposal.action is Action.HOLD and result.usage.requests == 3


def test_invalid_submission_is_sent_back_once_with_the_error_then_accepted(brief, research):
    ref, sent = Reference(), []

    def answer(body):
        if len(body["messages"]) == 1:
            return ref.message(body, [submit(ref, _payload(brief, confidence=1.7))])
        return ref.message(body, [submit(ref, _payload(brief))])

    result = make_analyst(_client(answer, sent)).propose(brief, research)

    feedback = sent[1]["messages"][2]["content"][0]
    assert feedback["is_error"] is True and "confidence" in feedback["content"]
    assert result.proposal.action is Action.BUY and result.proposal.confidence == 0.7


def test_invalid_twice_becomes_hold_with_the_reason(brief, research):
    ref = Reference()
    analyst = make_analyst(_client(_always(ref, _payload(brief, symbol="ETH/USDT")), []))

    result = analyst.propose(brief, research)

    assert result.proposal.action is Action.HOLD
    assert "invalid twice" in result.proposal.thesis and "symbol" in result.proposal.thesis
    assert result.usage.requests == 2 and result.error is None


@pytest.mark.parametrize(
    "extra",
    [{"max_position_fraction": 1.0}, {"trading_state": "active"}, {"limits": {"x": 1}}],
)
def test_a_submission_can_say_nothing_but_a_proposal(brief, research, extra):
    ref = Reference()
    analyst = make_analyst(_client(_always(ref, {**_payload(brief), **extra}), []))

    assert analyst.propose(brief, research).proposal.action is Action.HOLD


def test_refusal_becomes_hold_without_counting_as_an_error(brief, research):
    ref = Reference()
    analyst = make_analyst(_client(lambda b: ref.message(b, [], "refusal"), []))

    result = analyst.propose(brief, research)

    assert result.proposal.action is Action.HOLD and "refusal" in result.proposal.thesis
    assert result.error is None


def test_text_only_answer_becomes_hold(brief, research):
    ref = Reference()
    text = [{"type": "text", "text": "I would buy everything."}]
    analyst = make_analyst(_client(lambda b: ref.message(b, text, "end_turn"), []))

    assert analyst.propose(brief, research).proposal.action is Action.HOLD


def test_overloaded_is_retried_with_backoff_then_succeeds(brief, research):
    ref, sent = Reference(), []
    answers = iter([Reference.overloaded(), None])

    def answer(body):
        first = next(answers)
        return first if first is not None else ref.message(body, [submit(ref, _payload(brief))])

    client = _client(answer, sent, max_retries=2)
    result = make_analyst(client).propose(brief, research)

    assert len(sent) == 2 and result.proposal.action is Action.BUY and result.error is None


def test_api_error_after_the_retries_is_hold_that_counts_as_an_error(brief, research):
    analyst = make_analyst(_client(lambda b: Reference.overloaded(), []))

    result = analyst.propose(brief, research)

    assert result.proposal.action is Action.HOLD and "LLM call failed" in result.proposal.thesis
    assert result.error is not None
    assert KEY not in json.dumps(result.model_dump(mode="json"))


def test_spent_run_budget_stops_before_the_next_request(brief, research):
    sent = []
    analyst = make_analyst(_client(budget_stop(Reference()), sent), LlmBudget(run_tokens=2000))

    result = analyst.propose(brief, research)

    assert len(sent) == 1
    assert result.proposal.action is Action.HOLD
    assert result.budget_exhausted is not None and result.budget_exhausted.scope == "run"
    assert "tokens" in result.budget_exhausted.reason


def test_spent_dollar_budget_holds_every_later_cycle_without_a_request(brief, research):
    ref, sent = Reference(), []
    analyst = make_analyst(_client(_always(ref, _payload(brief)), sent), LlmBudget(run_usd=0.001))

    analyst.propose(brief, research)
    later = analyst.propose(brief, research)

    assert len(sent) == 1 and later.budget_exhausted is not None
    assert later.usage.requests == 0


def test_day_budget_survives_a_restart_on_the_same_day(tmp_path, brief, research):
    limits = LlmBudget(day_usd=0.001, run_usd=None)
    first = SpendLedger(limits, SqliteStateStore(tmp_path / "spend.sqlite"), today=lambda: "D1")
    first.add(brief_usage(0.002))

    again = SpendLedger(limits, SqliteStateStore(tmp_path / "spend.sqlite"), today=lambda: "D1")
    next_day = SpendLedger(limits, SqliteStateStore(tmp_path / "spend.sqlite"), today=lambda: "D2")

    assert again.stop() is not None and again.stop().scope == "day"
    assert next_day.stop() is None


def brief_usage(cost):
    from agents.base import LlmUsage

    return LlmUsage(requests=1, input_tokens=100, cost_usd=cost)


def test_no_request_is_paid_for_while_warming_up_or_when_nothing_can_be_done(brief, research):
    sent = []
    analyst = make_analyst(_client(lambda b: Reference.overloaded(), sent))
    warming = brief.model_copy(
        update={"features": brief.features.model_copy(update={"ready": False})}
    )
    halted_flat = brief.model_copy(update={"trading_state": TradingState.HALTED})

    results = [analyst.propose(warming, research), analyst.propose(halted_flat, research)]

    assert sent == []
    assert all(r.proposal.action is Action.HOLD and r.error is None for r in results)


def test_unknown_tool_and_bad_tool_input_are_answered_as_errors(brief, research):
    ref, sent = Reference(), []

    def answer(body):
        if len(body["messages"]) == 1:
            return ref.message(
                body,
                [
                    ref.tool_use("place_order", {"side": "buy"}),
                    ref.tool_use("higher_timeframe", {"timeframe": "1m"}),
                ],
            )
        return ref.message(body, [submit(ref, _payload(brief, action="HOLD"))])

    make_analyst(_client(answer, sent)).propose(brief, research)

    results = sent[1]["messages"][2]["content"]
    assert [r["is_error"] for r in results] == [True, True]
    assert "no tool named 'place_order'" in results[0]["content"]


def test_similar_situations_tool_reads_the_point_in_time_recall(brief, research):
    ref, sent = Reference(), []

    def answer(body):
        if len(body["messages"]) == 1:
            return ref.message(body, [ref.tool_use("similar_situations", {"k": 5})])
        return ref.message(body, [submit(ref, _payload(brief, action="HOLD"))])

    make_analyst(_client(answer, sent)).propose(brief, research)

    data = json.loads(sent[1]["messages"][2]["content"][0]["content"])
    assert data["count"] == len(RECALLED)
    assert data["mean_forward_return_24"] == pytest.approx(0.004)


def test_the_key_travels_only_in_the_auth_header(brief, research):
    ref, sent = Reference(), []
    client = _client(_always(ref, _payload(brief)), sent)

    result = make_analyst(client).propose(brief, research)

    carrying = {k for k, v in client.sent_headers[0].items() if KEY in v}
    assert carrying and carrying <= {"authorization", "x-api-key"}
    assert KEY not in json.dumps(sent) and KEY not in json.dumps(result.model_dump(mode="json"))


def test_a_model_without_a_price_is_a_clear_configuration_error():
    from core.errors import UserError

    settings = load_settings(anthropic={"model": "claude-unpriced-9"})

    with pytest.raises(UserError, match=r"no price for model 'claude-unpriced-9'"):
        settings.anthropic.price()
