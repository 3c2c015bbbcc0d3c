"""Reflection: a lesson for every closed position, from the numbers or from Claude."""

import anthropic
import httpx2 as httpx
import pytest

from agents.cassettes import cassette_config
from agents.reflection import SummaryReflector
from core.errors import ReplayMismatchError
from core.settings import LlmBudget
from core.types import ClosedPosition
from tests.agents.reference_model import Reference, make_analyst, scripted_client


@pytest.fixture
def closed(uptrend_features):
    def build(pnl: float = -24.0, exit_reason: str = "the resting stop-loss, filled at 97.1",
              max_adverse: float = -0.031) -> ClosedPosition:  # fmt: skip
        return ClosedPosition(
            symbol="SYN/USDT",
            timeframe="1h",
            opened_ms=0,
            closed_ms=5 * 3_600_000,
            candles_held=5,
            entry_price=100.0,
            exit_price=100.0 + pnl / 10,
            pnl=pnl,
            pnl_fraction=pnl / 1000.0,
            entry_features=uptrend_features,
            entry_thesis="[balanced, trend_up regime; no memory yet] balanced: enter long",
            exit_reason=exit_reason,
            max_adverse=max_adverse,
            entry_trace_id="run:00000001",
            entry_situation_id="abc:0",
            order_ids=("tg-run-1", "stop-run-SYN/USDT-5"),
        )

    return build


def test_summary_lesson_says_how_the_trade_went_and_what_follows(closed):
    text = SummaryReflector().reflect(closed())

    assert text.startswith("SYN/USDT long held 5 candles: -2.40% (worst -3.10%)")
    assert "closed by the resting stop-loss" in text
    assert "trend_up regime, RSI 62" in text
    assert "Lesson: entries like this went against the position at once" in text


def test_summary_lesson_of_a_winner_keeps_the_rule(closed):
    text = SummaryReflector().reflect(closed(pnl=50.0, exit_reason="exit: trend broke"))

    assert "+5.00%" in text and "Lesson: entries like this paid" in text


def test_summary_is_deterministic(closed):
    assert SummaryReflector().reflect(closed()) == SummaryReflector().reflect(closed())


def test_claude_writes_the_lesson_and_its_cost_is_counted(closed):
    analyst = make_analyst(scripted_client(lambda body: Reference().lesson(body)))
    reflector = analyst.reflector()

    text = reflector.reflect(closed())

    assert text.startswith("An entry in a trend_up regime with RSI 62 lost -2.40%.")
    assert reflector.usage.requests == 1 and reflector.usage.cost_usd > 0
    assert analyst.spend.run.requests == 1


def test_an_api_failure_falls_back_to_the_summary(closed):
    def broken(body):
        return httpx.Response(500, json={"type": "error", "error": {"type": "api_error"}})

    reflector = make_analyst(scripted_client(broken, max_retries=0)).reflector()

    assert reflector.reflect(closed()) == SummaryReflector().reflect(closed())


def test_a_spent_budget_falls_back_to_the_summary_without_a_request(closed):
    calls = []

    def counting(body):
        calls.append(body)
        return Reference().lesson(body)

    analyst = make_analyst(scripted_client(counting), LlmBudget(run_tokens=1))
    analyst.reflector().reflect(closed())  # spends past the 1-token budget

    text = analyst.reflector().reflect(closed())

    assert len(calls) == 1
    assert text == SummaryReflector().reflect(closed())


def test_a_replayed_cassette_without_the_lesson_request_stops_the_run(closed, tmp_path):
    cassette = tmp_path / "empty.yaml"
    cassette.write_text("interactions: []\nversion: 1\n")

    client = anthropic.Anthropic(
        api_key="replay", base_url="https://api.anthropic.com", max_retries=0
    )
    reflector = make_analyst(client).reflector()

    with cassette_config("none").use_cassette(str(cassette)), pytest.raises(ReplayMismatchError):
        reflector.reflect(closed())
