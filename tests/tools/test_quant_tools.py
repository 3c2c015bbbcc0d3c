"""The quant tools a model may call: each answers what the function it wraps answers on the
same candles, reads no candle after now, keeps within the work one call may ask for, and turns
every bad request (a symbol the loader cannot open, caps passed as input) into one line.

The generic checks (schemas, bounds, a good call per tool, bad inputs naming their field) run
over every tool in tests/tools/test_registry.py, from the tables in quant_tool_cases.py."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from core.market.series import CandleSeries
from core.market.source import MarketRequest, open_market
from core.types import RiskLimits
from tests.conftest import SHARED, needs_shared
from tests.support import info, series_from_closes
from tests.tools.quant_tool_cases import synthetic_markets
from tools.grid import ParameterGrid, grid_search
from tools.grid_execution import in_process
from tools.grid_toolset import MAX_TOOL_GRID_POINTS
from tools.levels import levels_now
from tools.market_toolset import MAX_CANDLES, iso_time
from tools.portfolio import PortfolioCaps
from tools.registry import MarketData, ToolContext
from tools.risk_metrics import tail_risk
from tools.strategies.pairs import cointegration, spread_zscore
from tools.strategies.partner import align_partner
from tools.strategy_backtest import backtest_strategy
from tools.tool_catalog import TOOLBOX
from tools.tool_work import MAX_TOOL_WORK, tool_work
from tools.vector_backtest import BacktestCosts, trade_signal
from tools.walk_forward import walk_forward

RECORDING = SHARED / "markets" / "binance-2020-09_2021-10"
FIVE = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"]
HOUR = 3600


def recorded(symbol: str) -> CandleSeries:
    """A symbol of the recording, as a caller's loader opens it."""
    return open_market(MarketRequest(spec=str(RECORDING), symbol=symbol, timeframe="1h"))[1]


@pytest.fixture(scope="module")
def btc() -> ToolContext:
    """BTC/USDT 1h with a loader of the recording's other symbols."""
    market_info, candles = open_market(
        MarketRequest(spec=str(RECORDING), symbol="BTC/USDT", timeframe="1h")
    )
    return ToolContext(market=MarketData(market_info, candles), markets=recorded)


@pytest.fixture(scope="module")
def synthetic() -> ToolContext:
    market_info, candles = open_market(MarketRequest(spec="synthetic:3", bars=1500))
    return ToolContext(market=MarketData(market_info, candles), markets=synthetic_markets)


@pytest.fixture(scope="module")
def long_walk() -> ToolContext:
    """50,000 hourly candles of a random walk: the most any tool reads."""
    steps = np.random.default_rng(11).normal(0.0, 0.002, 50_000)
    return ToolContext(
        market=MarketData(info(), series_from_closes(100 * np.exp(np.cumsum(steps))))
    )


def _call(name: str, payload: object, context: ToolContext) -> dict[str, Any]:
    """The tool's result, checked against its output model, as the model reads it."""
    outcome = TOOLBOX.call(name, payload, context)
    assert outcome.ok, outcome.error
    TOOLBOX.get(name).output_model.model_validate(outcome.result)
    read: dict[str, Any] = json.loads(outcome.content())
    return read


def _refusal(name: str, payload: object, context: ToolContext) -> str:
    outcome = TOOLBOX.call(name, payload, context)
    assert not outcome.ok and outcome.error is not None and "\n" not in outcome.error
    return outcome.error


@needs_shared
def test_the_walk_forward_tool_answers_what_walk_forward_does_on_the_latest_candles(btc):
    candles = btc.market.candles
    latest = candles.window(len(candles) - 4000, len(candles))
    grid = ParameterGrid(strategy="ma_crossover", values={"fast": (10, 20), "slow": (50, 100)})
    direct = walk_forward(
        latest, grid, BacktestCosts(), in_sample=2000, out_of_sample=500,
        period_seconds=HOUR, map_points=in_process,
    )  # fmt: skip
    values = {"fast": [10, 20], "slow": [50, 100]}
    windows = {"in_sample": 2000, "out_of_sample": 500}

    result = _call(
        "walk_forward",
        {"strategy": "ma_crossover", "values": values, "candles": 4000, **windows},
        btc,
    )

    assert "equity" not in result and result["candles"] == 4000
    assert result["stitched"] == direct.stitched.model_dump(mode="json")
    for ours, theirs in zip(result["folds"], direct.folds, strict=True):
        assert ours["params"] == theirs.params
        assert ours["in_sample_score"] == theirs.in_sample_score
        assert ours["out_of_sample_score"] == theirs.out_of_sample_score
        assert ours["out_of_sample_return"] == theirs.out_of_sample_return
        assert ours["out_of_sample_trades"] == theirs.out_of_sample_trades
    for name in ("overfitting_gap", "positive_share", "parameter_stability", "points", "skipped"):
        assert result[name] == getattr(direct, name)


@needs_shared
def test_walk_forward_folds_are_dated_and_buy_and_hold_spans_the_out_of_sample_candles(btc):
    candles = btc.market.candles
    latest = candles.window(len(candles) - 3000, len(candles))

    query = {"strategy": "bollinger", "values": {"period": [20, 40]}, "candles": 3000}

    result = _call("walk_forward", {**query, "in_sample": 1000, "out_of_sample": 1000}, btc)

    first, second = result["folds"]
    assert first["in_sample_start"] == iso_time(int(latest.ts[0]))
    assert first["out_of_sample_end"] == second["out_of_sample_start"]
    assert second["out_of_sample_end"] == "2021-11-01T00:00:00+00:00"
    held = trade_signal(latest.window(1000, 3000), np.ones(2000, dtype=np.bool_), BacktestCosts())
    assert result["buy_and_hold_return"] == float(held.equity[-1] / held.equity[0] - 1.0)


@needs_shared
def test_grid_search_returns_the_best_points_in_order_flagged_in_sample(btc):
    candles = btc.market.candles
    latest = candles.window(len(candles) - 2000, len(candles))
    values = {"fast": (10, 30, 60), "slow": (40, 80)}
    grid = ParameterGrid(strategy="ma_crossover", values=values)
    ranked = grid_search(latest, grid, period_seconds=HOUR, map_points=in_process)

    result = _call(
        "grid_search",
        {"strategy": "ma_crossover", "values": values, "candles": 2000, "top": 3},
        btc,
    )

    assert result["in_sample"] is True and result["skipped"] == 1 and result["points"] == 5
    assert result["top"] == [p.model_dump(mode="json") for p in ranked.points[:3]]


def test_a_grid_asking_for_more_work_than_one_call_may_is_refused(long_walk):
    heavy = {"strategy": "volume_profile_breakout", "values": {"window": [1500, 2000]}}
    folds = {"strategy": "ma_crossover", "values": {"fast": [5, 10, 15, 20], "slow": [50, 100]}}

    too_heavy = _refusal("grid_search", {**heavy, "candles": 50_000}, long_walk)
    too_many_folds = _refusal(
        "walk_forward",
        {**folds, "candles": 50_000, "in_sample": 20_000, "out_of_sample": 100},
        long_walk,
    )

    assert f"more than the {MAX_TOOL_WORK:,}" in too_heavy
    assert "values" in too_many_folds and "candles" in too_many_folds


def test_the_largest_grid_of_a_cheap_strategy_over_the_most_candles_is_within_bounds():
    values = {"fast": tuple(range(2, 12)), "slow": tuple(range(100, 200, 10))}
    points = ParameterGrid(strategy="ma_crossover", values=values).points().params

    work = tool_work("ma_crossover", points, MAX_CANDLES, [(0, MAX_CANDLES)])

    assert len(points) == MAX_TOOL_GRID_POINTS and work <= MAX_TOOL_WORK


@needs_shared
def test_tail_risk_of_the_market_is_read_from_its_own_candle_returns(btc):
    candles = btc.market.candles
    latest = candles.window(len(candles) - 2000, len(candles))

    result = _call("tail_risk", {"candles": 2000}, btc)

    expected = tail_risk(np.concatenate([latest.open[:1], latest.close]), period_seconds=HOUR)
    assert result["tail_risk"] == expected.model_dump(mode="json")
    assert result["strategy"] == "buy_and_hold" and result["params"] == {}


@needs_shared
def test_tail_risk_of_a_strategy_is_its_backtests(btc):
    candles = btc.market.candles
    latest = candles.window(len(candles) - 3000, len(candles))
    params = {"period": 30, "nbdev": 2.5}

    result = _call("tail_risk", {"strategy": "bollinger", "params": params, "candles": 3000}, btc)

    report = backtest_strategy("bollinger", latest, params, timeframe_seconds=HOUR)
    assert result["tail_risk"] == report.tail_risk.model_dump(mode="json")
    assert result["params"] == report.params


@needs_shared
def test_levels_read_off_the_latest_candles_equal_levels_over_the_whole_history(btc):
    result = _call("levels", {"window": 300, "pivot": 4, "bins": 30, "count": 5}, btc)

    whole = levels_now(btc.market.candles, window=300, pivot=4, bins=30, count=5)
    assert result["levels"] == whole.model_dump(mode="json")
    assert result["as_of"] == "2021-11-01T00:00:00+00:00"


@needs_shared
def test_cointegration_tests_the_market_against_its_partner_as_of_each_candle(btc):
    candles = btc.market.candles
    latest = candles.window(len(candles) - 500, len(candles))
    partner = align_partner(latest, recorded("ETH/USDT"))

    result = _call("cointegration", {"partner": "ETH/USDT", "candles": 500, "window": 300}, btc)

    assert result["cointegration"] == cointegration(latest, partner).model_dump(mode="json")
    assert result["spread_z"] == float(spread_zscore(latest, partner, 300)[-1])
    assert result["symbol"] == "BTC/USDT" and result["partner_filled"] == 0


@needs_shared
def test_no_tool_reads_a_partner_candle_after_the_markets_last(btc):
    now = btc.market.candles.window(0, 5000)
    last = int(now.ts[-1])

    def known_by_now(symbol: str) -> CandleSeries:
        whole = recorded(symbol)
        return whole.window(0, int(np.searchsorted(whole.ts, last, side="right")))

    past = ToolContext(market=MarketData(btc.market.info, now), markets=recorded)
    cut = ToolContext(market=past.market, markets=known_by_now)
    pair = {"partner": "SOL/USDT", "candles": 500, "window": 200}
    weights = {"symbols": FIVE, "method": "min_variance", "lookback": 2000}

    assert _call("cointegration", pair, past) == _call("cointegration", pair, cut)
    assert _call("portfolio_optimize", weights, past) == _call("portfolio_optimize", weights, cut)


@needs_shared
def test_portfolio_weights_hold_to_the_default_risk_caps(btc):
    result = _call(
        "portfolio_optimize", {"symbols": FIVE, "method": "max_sharpe", "lookback": 4000}, btc
    )

    default = PortfolioCaps.from_limits(RiskLimits())
    assert result["caps"] == default.model_dump(mode="json")
    assert set(result["weights"]) == set(FIVE) and result["candles"] == 4000
    assert max(result["weights"].values()) <= default.max_weight + 1e-9


def test_the_caps_are_the_callers_and_no_input_can_pass_them(synthetic):
    tight = PortfolioCaps(max_weight=0.2, max_gross=0.5)
    capped = ToolContext(market=synthetic.market, markets=synthetic_markets, caps=tight)
    symbols = ["SYN/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]

    result = _call("portfolio_optimize", {"symbols": symbols, "method": "hrp"}, capped)
    raised = _refusal(
        "portfolio_optimize",
        {"symbols": symbols, "method": "hrp", "caps": {"max_weight": 1.0, "max_gross": 1.0}},
        capped,
    )

    assert max(result["weights"].values()) <= 0.2 + 1e-9
    assert sum(result["weights"].values()) <= 0.5 + 1e-9
    assert raised == "invalid input at caps: Extra inputs are not permitted"


@pytest.mark.parametrize(
    "failure",
    [
        KeyError("DOGE/USDT"),
        OSError("disk gone\nTraceback (most recent call last): ..."),
        RuntimeError(),
    ],
)
def test_whatever_a_loader_raises_is_one_line_naming_the_field(synthetic, failure):
    def broken(symbol: str) -> CandleSeries:
        raise failure

    context = ToolContext(market=synthetic.market, markets=broken)

    pair = _refusal("cointegration", {"partner": "ETH/USDT"}, context)
    weights = _refusal(
        "portfolio_optimize", {"symbols": ["A/USDT", "B/USDT"], "method": "hrp"}, context
    )

    assert pair.startswith("partner: cannot open ETH/USDT: ")
    assert weights.startswith("symbols: cannot open A/USDT: ")


def test_a_tool_over_other_symbols_without_a_loader_says_so(synthetic):
    alone = ToolContext(market=synthetic.market)

    error = _refusal("cointegration", {"partner": "ETH/USDT"}, alone)

    assert error == "cointegration reads other symbols of the market: none can be opened here"


def test_a_partner_with_no_candle_before_now_is_refused(synthetic):
    later = synthetic_markets("ETH/USDT")
    shifted = CandleSeries(
        later.ts + 10**12, later.open, later.high, later.low, later.close, later.volume
    )
    context = ToolContext(market=synthetic.market, markets=lambda symbol: shifted)

    error = _refusal("cointegration", {"partner": "ETH/USDT"}, context)

    assert error.startswith("partner: ETH/USDT has no candle at or before ")


@needs_shared
def test_a_symbol_the_recording_does_not_hold_is_the_loaders_own_reason_in_one_line(btc):
    error = _refusal("cointegration", {"partner": "DOGE/USDT"}, btc)

    assert error.startswith("partner: cannot open DOGE/USDT: ")
