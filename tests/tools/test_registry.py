"""The tool registry: every tool is typed, bounded and described in one line; every bad call is
answered with a readable tool error naming what to fix; the Claude analyst's tools are
byte-identical to what its recorded cassettes sent."""

import json
from pathlib import Path
from typing import Any

import anthropic
import numpy as np
import pytest
import talib
from pydantic import BaseModel, ConfigDict, Field

from agents.base import ResearchContext
from agents.research_tools import run_research_tool
from core.market.source import MarketRequest, open_market
from tests.agents.reference_model import (
    make_analyst,
    scenario_brief,
    scenario_history,
    scenario_research,
)
from tests.support import info, series_from_closes
from tests.tools.quant_tool_cases import BAD_INPUTS as QUANT_BAD_INPUTS
from tests.tools.quant_tool_cases import GOOD_INPUTS as QUANT_GOOD_INPUTS
from tests.tools.quant_tool_cases import synthetic_markets
from tools.market_toolset import MAX_CANDLES, MAX_VALUES
from tools.registry import (
    MAX_DESCRIPTION,
    MarketData,
    Tool,
    ToolContext,
    ToolRegistry,
    unbounded_numbers,
)
from tools.tool_catalog import TOOLBOX, build_toolbox

SNAPSHOT = Path(__file__).parent / "snapshots" / "claude_analyst_tools.json"

BAD_INPUTS: dict[str, list[tuple[object, str]]] = {
    "higher_timeframe": [
        ({"timeframe": 4}, "timeframe"),
        ({"timeframe": "2d"}, "timeframe"),
        ({"timeframe": "4h", "bars": 10}, "bars"),
        ({}, "timeframe"),
        ({"timeframe": "1h"}, "timeframe"),
    ],
    "backtest": [
        ({"rule": "ema_cross", "fast": "quick"}, "fast"),
        ({"rule": "ema_cross", "lookback_bars": 10**9}, "lookback_bars"),
        ({"rule": "ema_cross", "leverage": 3}, "leverage"),
        ({"fast": 5}, "rule"),
        ({"rule": "ema_cross", "fast": 50, "slow": 20}, "slow"),
    ],
    "similar_situations": [
        ({"k": "many"}, "k"),
        ({"k": 31}, "k"),
        ({"k": 3, "since": 0}, "since"),
        ("three", "input"),
    ],
    "indicator": [
        ({"name": 3}, "name"),
        ({"name": "rsi", "last": MAX_VALUES + 1}, "last"),
        ({"name": "rsi", "window": 10**9}, "window"),
        ({"name": "rsi", "period": 14}, "period"),
        ({}, "name"),
        ({"name": "ichimoku"}, "name"),
        ({"name": "rsi", "params": {"period": 1}}, "period"),
        ({"name": "rsi", "params": {"speed": 3}}, "speed"),
    ],
    "list_strategies": [
        ({"verbose": True}, "verbose"),
        ([1, 2], "input"),
    ],
    "backtest_strategy": [
        ({"strategy": "ma_crossover", "candles": 10**9}, "candles"),
        ({"strategy": "ma_crossover", "fee_rate": "high"}, "fee_rate"),
        ({"strategy": "ma_crossover", "leverage": 2}, "leverage"),
        ({}, "strategy"),
        ({"strategy": "martingale"}, "strategy"),
        ({"strategy": "pairs"}, "partner"),
        ({"strategy": "ma_crossover", "params": {"slow": 1}}, "slow"),
        ({"strategy": "ma_crossover", "params": {"fast": 50, "slow": 20}}, "slow"),
    ],
    **QUANT_BAD_INPUTS,
}

GOOD_INPUTS: dict[str, object] = {
    "higher_timeframe": {"timeframe": "4h"},
    "backtest": {"rule": "rsi_reversion", "lookback_bars": 200},
    "similar_situations": {"k": 2},
    "indicator": {"name": "macd", "params": {"fast": 8, "slow": 21}, "last": 5},
    "list_strategies": {},
    "backtest_strategy": {"strategy": "ma_crossover", "params": {"fast": 5, "slow": 20}},
    **QUANT_GOOD_INPUTS,
}


@pytest.fixture(scope="module")
def history():
    return scenario_history()


@pytest.fixture(scope="module")
def context(history):
    """A decision cycle's research and brief, a market opened by the caller and a loader of
    its other symbols."""
    market_info, candles = open_market(MarketRequest(spec="synthetic:3", bars=1500))
    return ToolContext(
        research=scenario_research(history),
        brief=scenario_brief(history),
        market=MarketData(market_info, candles),
        markets=synthetic_markets,
    )


def _numeric_properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for field, prop in schema["properties"].items():
        for variant in prop.get("anyOf", [prop]):
            if variant.get("type") in ("integer", "number"):
                found.append((field, variant))
    return found


def test_the_claude_analyst_sends_the_tool_definitions_its_cassettes_recorded():
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url="http://127.0.0.1:9")
    recorded = json.loads(SNAPSHOT.read_text(encoding="utf-8"))

    sent = make_analyst(client).tools

    assert json.dumps(sent) == json.dumps(recorded)


def test_the_research_scope_holds_the_three_research_tools_in_order():
    assert TOOLBOX.names(scope="research") == ["higher_timeframe", "backtest", "similar_situations"]


def test_every_tool_has_bad_and_good_input_cases_here():
    assert set(BAD_INPUTS) == set(GOOD_INPUTS) == set(TOOLBOX.names())


@pytest.mark.parametrize("name", TOOLBOX.names())
def test_every_input_schema_is_a_valid_json_schema_of_a_closed_object(name):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema checks the meta-schema")
    schema = TOOLBOX.get(name).definition()["input_schema"]

    jsonschema.Draft202012Validator.check_schema(schema)

    assert schema["type"] == "object" and "properties" in schema
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", TOOLBOX.names())
def test_every_numeric_input_has_a_lower_and_an_upper_bound(name):
    schema = TOOLBOX.get(name).definition()["input_schema"]

    for field, prop in _numeric_properties(schema):
        assert "minimum" in prop or "exclusiveMinimum" in prop, field
        assert "maximum" in prop or "exclusiveMaximum" in prop, field


@pytest.mark.parametrize("name", TOOLBOX.names())
def test_every_description_is_one_non_empty_line(name):
    description = TOOLBOX.get(name).definition()["description"]

    assert description.strip() and "\n" not in description and len(description) <= MAX_DESCRIPTION


@pytest.mark.parametrize(
    ("name", "payload", "field"),
    [(name, payload, field) for name, cases in BAD_INPUTS.items() for payload, field in cases],
)
def test_bad_input_is_a_one_line_tool_error_naming_the_field(context, name, payload, field):
    outcome = TOOLBOX.call(name, payload, context)

    assert not outcome.ok and outcome.result is None
    assert field in outcome.error and "\n" not in outcome.error
    assert outcome.content() == outcome.error


@pytest.mark.parametrize("name", TOOLBOX.names())
def test_a_good_call_returns_an_output_its_output_model_accepts(context, name):
    tool = TOOLBOX.get(name)

    outcome = TOOLBOX.call(name, GOOD_INPUTS[name], context)

    assert outcome.ok, outcome.error
    tool.output_model.model_validate(outcome.result)
    assert json.loads(outcome.content()) == outcome.result


def test_an_unknown_tool_is_an_error_listing_the_tools_there_are(context):
    outcome = TOOLBOX.call("place_order", {"side": "buy"}, context)

    assert not outcome.ok
    assert "no tool named 'place_order'" in outcome.error
    assert all(name in outcome.error for name in TOOLBOX.names())


def test_a_tool_outside_the_callers_scope_is_unknown_to_it(context):
    outcome = TOOLBOX.call("indicator", {"name": "rsi"}, context, scope="research")

    assert not outcome.ok
    assert outcome.error == (
        "no tool named 'indicator': use one of higher_timeframe, backtest, similar_situations"
    )


def test_the_analyst_adapter_answers_a_market_tool_as_an_error_pointing_to_submit(history):
    brief, research = scenario_brief(history), scenario_research(history)

    block = run_research_tool("call-1", "backtest_strategy", {}, brief, research)

    assert block["is_error"] is True and block["tool_use_id"] == "call-1"
    assert block["content"].endswith("similar_situations, or call submit_proposal to finish")


def test_the_analyst_adapter_answers_a_research_call_with_sorted_compact_json(history):
    brief, research = scenario_brief(history), scenario_research(history)

    block = run_research_tool("call-2", "similar_situations", {"k": 1}, brief, research)

    assert "is_error" not in block
    assert block["content"] == (
        '{"count":1,"mean_forward_return_24":0.012,"share_positive":1.0,"situations":'
        '[{"forward_return_24":0.012,"max_adverse":-0.006,"similarity":0.97,"ts":1700000000000}]}'
    )


def test_similar_situations_keeps_a_none_summary_when_nothing_is_recalled(history):
    empty = ToolContext(
        research=ResearchContext(history=history, recall=lambda vector, k: ()),
        brief=scenario_brief(history),
    )

    outcome = TOOLBOX.call("similar_situations", {}, empty)

    assert outcome.result == {
        "count": 0,
        "mean_forward_return_24": None,
        "share_positive": None,
        "situations": [],
    }


def test_a_research_tool_without_a_decision_cycle_is_a_tool_error(context):
    market_only = ToolContext(market=context.market)

    outcome = TOOLBOX.call("similar_situations", {"k": 3}, market_only)

    assert (
        outcome.error
        == "similar_situations reads a decision cycle's memory, which is not open here"
    )


def test_a_market_tool_without_any_market_is_a_tool_error():
    outcome = TOOLBOX.call("indicator", {"name": "rsi"}, ToolContext())

    assert outcome.error == "indicator needs a market, and none was opened: name one first"


def test_the_indicator_reads_a_decision_cycles_closed_candles_when_no_market_is_opened(history):
    cycle = ToolContext(research=scenario_research(history), brief=scenario_brief(history))
    close = np.ascontiguousarray(history.close(), dtype=np.float64)

    outcome = TOOLBOX.call("indicator", {"name": "rsi", "last": 3}, cycle)

    assert outcome.result is not None and outcome.result["candles"] == len(history)
    assert outcome.result["ts"] == history.ts(3).tolist()
    expected = [float(f"{v:.8g}") for v in talib.RSI(close, timeperiod=14)[-3:]]
    assert outcome.result["values"]["rsi"] == expected


def test_indicator_values_still_warming_up_are_none():
    market = MarketData(info(), series_from_closes(np.linspace(100.0, 120.0, 30)))

    outcome = TOOLBOX.call(
        "indicator",
        {"name": "sma", "params": {"period": 20}, "last": 30},
        ToolContext(market=market),
    )

    values = outcome.result["values"]["sma"]
    assert values[:19] == [None] * 19 and None not in values[19:]


@pytest.fixture(scope="module")
def long_market():
    steps = np.random.default_rng(5).normal(0.0, 0.002, MAX_CANDLES + 5000)
    return MarketData(info(), series_from_closes(100.0 * np.exp(np.cumsum(steps))))


def test_a_backtest_never_reads_more_than_the_candle_bound(long_market):
    context = ToolContext(market=long_market)

    refused = TOOLBOX.call("backtest_strategy", {"strategy": "momentum", "candles": 10**9}, context)
    largest = TOOLBOX.call(
        "backtest_strategy", {"strategy": "momentum", "candles": MAX_CANDLES}, context
    )

    assert "candles" in refused.error and "50000" in refused.error
    assert largest.result["candles"] == MAX_CANDLES < len(long_market.candles)


def test_an_indicator_never_computes_over_more_than_its_window(long_market):
    context = ToolContext(market=long_market)

    outcome = TOOLBOX.call(
        "indicator", {"name": "ema", "window": MAX_CANDLES, "last": MAX_VALUES}, context
    )

    assert outcome.result["candles"] == MAX_CANDLES
    assert len(outcome.result["values"]["ema"]) == MAX_VALUES


def test_list_strategies_gives_each_strategys_bounded_parameter_schema(context):
    outcome = TOOLBOX.call("list_strategies", {}, context)

    entries = {s["name"]: s for s in outcome.result["strategies"]}
    crossover = entries["ma_crossover"]["params_schema"]["properties"]
    assert crossover["slow"]["minimum"] == 3 and crossover["slow"]["maximum"] == 500
    assert entries["pairs"]["needs_partner"] is True


class _Echo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    times: int = Field(default=1, ge=1, le=3, description="how many echoes")


class _Echoed(BaseModel):
    text: str


def _echo(query: _Echo, context: ToolContext) -> _Echoed:
    return _Echoed(text="echo " * query.times)


ECHO = Tool(
    name="echo",
    description="Echoes.",
    input_model=_Echo,
    output_model=_Echoed,
    run=_echo,
    scope="market",
)


def test_adding_a_tool_is_one_register_call():
    registry = build_toolbox()

    registry.register(ECHO)

    assert registry.call("echo", {"times": 2}, ToolContext()).result == {"text": "echo echo "}
    assert registry.names()[-1] == "echo" and "echo" not in registry.names(scope="research")


class _Unbounded(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    candles: int = Field(default=10, ge=1)


class _Open(BaseModel):
    times: int = Field(default=1, ge=1, le=3)


@pytest.mark.parametrize(
    ("tool", "problem"),
    [
        (ECHO, "already registered"),
        (Tool("two", "One line.\nTwo lines.", _Echo, _Echoed, _echo, "market"), "one non-empty"),
        (Tool("vast", "Vast.", _Unbounded, _Echoed, _echo, "market"), "bounds: candles"),
        (Tool("open", "Open.", _Open, _Echoed, _echo, "market"), "forbid unknown fields"),
    ],
)
def test_a_tool_breaking_the_rules_is_refused_at_registration(tool, problem):
    registry = ToolRegistry()
    registry.register(ECHO)

    with pytest.raises(ValueError, match=problem):
        registry.register(tool)


def test_unbounded_numbers_finds_an_optional_number_without_a_maximum():
    class Optional(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

        rate: float | None = Field(default=None, ge=0)

    assert unbounded_numbers(Optional) == ["rate"]
