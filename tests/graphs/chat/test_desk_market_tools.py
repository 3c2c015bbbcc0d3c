"""The toolbox's market tools offered to the chat: the model names the market and window, the
toolbox's own tools answer, and every bad call is one line."""

from __future__ import annotations

import pytest

from graphs.chat.desk import ChatDesk, call_tool, chat_registry
from tests.conftest import SHARED, needs_shared
from tests.graphs.chat.conftest import desk_settings
from tools.tool_catalog import TOOLBOX

RECORDINGS = SHARED / "markets" / "binance-2020-09_2021-10"


@pytest.fixture
def registry(tmp_path):
    return chat_registry(ChatDesk(desk_settings(tmp_path)))


@pytest.fixture
def recorded(tmp_path):
    return chat_registry(ChatDesk(desk_settings(tmp_path), market=str(RECORDINGS)))


def test_every_market_tool_of_the_toolbox_is_offered_in_the_chat_scope(registry):
    names = registry.names("chat")

    assert set(TOOLBOX.names("market")) <= set(names)
    assert registry.names("market") == registry.names("research") == []


def test_a_market_tool_takes_the_selector_beside_its_own_input(registry):
    schema = next(d for d in registry.definitions() if d["name"] == "backtest_strategy")

    properties = schema["input_schema"]["properties"]
    assert {"symbol", "timeframe", "days", "start", "end", "market", "strategy"} <= set(properties)


def test_a_90_day_backtest_reads_90_days_of_the_named_market(registry):
    outcome = call_tool(
        registry, "backtest_strategy",
        {"strategy": "zscore_reversion", "timeframe": "1h", "days": 90},
    )  # fmt: skip

    assert outcome.ok, outcome.error
    assert outcome.result["candles"] == 90 * 24
    assert outcome.result["strategy"] == "zscore_reversion"


@needs_shared
def test_a_recorded_market_is_chosen_by_symbol_and_timeframe(recorded):
    outcome = call_tool(
        recorded, "backtest_strategy",
        {"strategy": "ma_crossover", "symbol": "ETH/USDT", "timeframe": "1h", "days": 90},
    )  # fmt: skip

    assert outcome.ok, outcome.error
    assert 2100 <= outcome.result["candles"] <= 90 * 24
    assert outcome.result["end"].startswith("2021-11-01")


@needs_shared
def test_a_start_and_end_date_window_the_market(recorded):
    outcome = call_tool(
        recorded, "indicator",
        {"name": "rsi", "symbol": "BTC/USDT", "timeframe": "1d", "start": "2021-01-01",
         "end": "2021-01-31", "last": 31},
    )  # fmt: skip

    assert outcome.ok, outcome.error
    assert outcome.result["candles"] == 31


@needs_shared
def test_pairs_and_portfolios_open_the_other_symbols_of_the_same_market(recorded):
    pair = call_tool(
        recorded, "cointegration",
        {"symbol": "BTC/USDT", "partner": "ETH/USDT", "timeframe": "4h", "days": 200},
    )  # fmt: skip
    weights = call_tool(
        recorded, "portfolio_optimize",
        {"symbols": ["BTC/USDT", "ETH/USDT", "SOL/USDT"], "method": "hrp", "timeframe": "1d",
         "days": 400, "lookback": 300},
    )  # fmt: skip

    assert pair.ok and weights.ok, (pair.error, weights.error)
    assert pair.result["partner"] == "ETH/USDT"
    assert set(weights.result["weights"]) == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}


def test_list_strategies_needs_no_market(registry):
    outcome = call_tool(registry, "list_strategies", {})

    assert outcome.ok
    assert "zscore_reversion" in {s["name"] for s in outcome.result["strategies"]}


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        ({"strategy": "nope"}, "no strategy named 'nope'"),
        ({"strategy": "bollinger", "days": 90, "start": "2024-01-01"}, "days or start/end"),
        ({"strategy": "bollinger", "market": "/etc/passwd"}, "only synthetic"),
        ({"strategy": "bollinger", "market": "exchange:binance"}, "only synthetic"),
        ({"strategy": "bollinger", "days": 0}, "days"),
        ({"strategy": "bollinger", "days": 100_000}, "days"),
        ({"strategy": "bollinger", "timeframe": "7x"}, "timeframe"),
        ({"strategy": "bollinger", "start": "yesterday"}, "start 'yesterday' is not a date"),
        ({"strategy": "bollinger", "start": "2024-03-01", "end": "2024-02-01"}, "swap"),
        ({"strategy": "bollinger", "symbol": "btc"}, "BASE/QUOTE"),
        ({"strategy": "bollinger", "params": {"period": -4}}, "period"),
        ({"strategy": "bollinger", "surprise": 1}, "surprise"),
    ],
)
def test_a_bad_market_tool_call_is_one_line(registry, payload, said):
    outcome = call_tool(registry, "backtest_strategy", payload)

    assert not outcome.ok
    assert said in outcome.error
    assert "\n" not in outcome.error and "--" not in outcome.error


@needs_shared
def test_an_unknown_symbol_of_a_recording_names_the_ones_there_are(recorded):
    outcome = call_tool(recorded, "levels", {"symbol": "DOGE/USDT", "timeframe": "1h", "days": 30})

    assert not outcome.ok
    assert "no DOGE/USDT 1h" in outcome.error and "ETH/USDT" in outcome.error


def test_an_unknown_tool_names_the_chat_tools(registry):
    outcome = call_tool(registry, "place_order", {"symbol": "SYN/USDT"})

    assert not outcome.ok
    assert outcome.error.startswith("no tool named 'place_order'")
