"""A strategy backtest reports what trading its signal did, as the report and empyrical do."""

import json

import numpy as np
import pytest

from core.market.series import CandleSeries
from tests.conftest import SHARED, needs_shared
from tests.support import HOUR_MS, T0, series_from_closes
from tools.metrics import buy_and_hold_return
from tools.risk_metrics import tail_risk
from tools.strategies import get_strategy
from tools.strategies.base import BoolArray, Strategy, StrategyParams
from tools.strategies.ma_crossover import MaCrossoverParams
from tools.strategy_backtest import StrategyBacktest, backtest_strategy
from tools.vector_backtest import BacktestCosts, trade_signal

HOUR = 3_600
YEAR_OF_HOURS = 365 * 24
"""tools.metrics annualizes with 365 days of candles; empyrical is told the same."""
AGREEMENT = 1e-9


def _recorded(symbol: str) -> CandleSeries:
    from core.market.source import MarketRequest, open_market

    _, series = open_market(
        MarketRequest(spec=str(SHARED / "markets" / "binance-2023"), symbol=symbol, timeframe="1h")
    )
    return series


class PatternParams(StrategyParams):
    pass


def _pattern_strategy(pattern: list[bool]) -> Strategy[PatternParams]:
    """A strategy that wants a fixed pattern: the trades it makes can be worked out by hand."""

    def signal(candles: CandleSeries, p: PatternParams, partner: object = None) -> BoolArray:
        return np.asarray(pattern, dtype=np.bool_)

    return Strategy(
        name="pattern",
        description="a fixed pattern of positions",
        params=PatternParams,
        signal=signal,
        warmup=lambda p: 0,
    )


@needs_shared
@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT"])
def test_the_crossover_metrics_on_a_real_year_agree_with_empyrical(symbol):
    """Comparable one for one: both take the zero-target downside deviation over all returns,
    sqrt(mean(min(r, 0)^2)), for Sortino, the sample deviation (ddof 1) for volatility and
    Sharpe, and the drawdown from a peak that includes the starting cash. Empyrical reads the
    returns of our equity curve through pandas, not through our code."""
    empyrical = pytest.importorskip("empyrical")
    import pandas as pd

    report = backtest_strategy("ma_crossover", _recorded(symbol), timeframe_seconds=HOUR)
    returns = pd.Series(report.curves().equity).pct_change().dropna().to_numpy()
    m = report.metrics

    theirs = {
        "total_return": empyrical.cum_returns_final(returns),
        "cagr": empyrical.annual_return(returns, annualization=YEAR_OF_HOURS),
        "max_drawdown": -empyrical.max_drawdown(returns),
        "volatility": empyrical.annual_volatility(returns, annualization=YEAR_OF_HOURS),
        "sharpe": empyrical.sharpe_ratio(returns, annualization=YEAR_OF_HOURS),
        "sortino": empyrical.sortino_ratio(returns, annualization=YEAR_OF_HOURS),
    }
    ours = {name: getattr(m, name) for name in theirs}

    assert m.trades > 50
    assert ours == pytest.approx(theirs, rel=AGREEMENT)


@needs_shared
@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT"])
def test_the_crossover_var_and_es_on_a_real_year_agree_with_empyrical(symbol):
    empyrical = pytest.importorskip("empyrical")
    import pandas as pd

    report = backtest_strategy("ma_crossover", _recorded(symbol), timeframe_seconds=HOUR)
    returns = pd.Series(report.curves().equity).pct_change().dropna().to_numpy()
    risk = report.tail_risk

    for level, var, es in ((0.95, risk.var_95, risk.es_95), (0.99, risk.var_99, risk.es_99)):
        tail = 1.0 - level
        assert var == pytest.approx(-np.quantile(returns, tail), rel=AGREEMENT)
        assert var == pytest.approx(-empyrical.value_at_risk(returns, tail), rel=AGREEMENT)
        assert es == pytest.approx(
            -empyrical.conditional_value_at_risk(returns, tail), rel=AGREEMENT
        )
        assert es > var > 0


@needs_shared
def test_buy_and_hold_is_the_one_buy_and_hold_of_the_metrics_to_the_bit():
    series = _recorded("BTC/USDT")
    costs = BacktestCosts(slippage_bps=5.0)

    report = backtest_strategy("ma_crossover", series, costs=costs, timeframe_seconds=HOUR)

    assert report.buy_and_hold_return == buy_and_hold_return(
        series.open,
        series.close,
        fee_rate=costs.fee_rate,
        slippage_bps=costs.slippage_bps,
        initial_cash=costs.initial_cash,
    )
    assert report.buy_and_hold.total_return == pytest.approx(report.buy_and_hold_return)
    assert report.buy_and_hold.exposure == (len(series) - 1) / len(series)


def test_the_report_is_the_vectorized_run_of_the_strategys_signal():
    rng = np.random.default_rng(8)
    series = series_from_closes(100 * np.cumprod(1 + rng.normal(0, 0.01, 2_000)))
    strategy = get_strategy("ma_crossover")
    params = MaCrossoverParams(fast=10, slow=30)
    run = trade_signal(series, strategy.want(series, params))

    report = backtest_strategy(strategy, series, params, timeframe_seconds=HOUR)

    assert report.metrics == run.metrics(HOUR)
    assert report.tail_risk == tail_risk(run.equity, period_seconds=HOUR)
    assert np.array_equal(report.curves().equity, run.equity)
    assert report.trades.count == run.exits.size == report.metrics.trades
    assert report.params == {"fast": 10, "slow": 30}


def test_trades_are_summarized_by_hand_without_costs():
    closes = [100.0, 100.0, 110.0, 121.0, 121.0, 100.0, 90.0, 99.0, 99.0, 99.0]
    want = [True, True, False, False, True, False, False, True, True, True]
    free = BacktestCosts(fee_rate=0.0, slippage_bps=0.0)

    report = backtest_strategy(
        _pattern_strategy(want), series_from_closes(closes), costs=free, timeframe_seconds=HOUR
    )

    # opens are the previous closes. Long from open 1 (100) to open 3 (110): +10%, 2 bars;
    # from open 5 (121) to open 6 (100): -17.36%, 1 bar; from open 8 (99), still held.
    assert report.trades.count == 2
    assert report.trades.win_rate == 0.5
    assert report.trades.average_return == pytest.approx((0.10 + (100 / 121 - 1)) / 2)
    assert report.trades.average_bars_held == 1.5
    assert report.trades.open_at_end
    assert report.last_signal == "long"


def test_a_trade_return_pays_both_fees_and_both_slippages():
    closes = [100.0, 100.0, 110.0, 110.0]
    costs = BacktestCosts(fee_rate=0.001, slippage_bps=10.0)

    report = backtest_strategy(
        _pattern_strategy([True, False, False, False]),
        series_from_closes(closes),
        costs=costs,
        timeframe_seconds=HOUR,
    )

    bought, sold = 100.0 * 1.001 * 1.001, 100.0 * 0.999 * 0.999
    assert report.trades.average_return == pytest.approx(sold / bought - 1.0, rel=1e-12)
    assert report.last_signal == "flat"
    assert not report.trades.open_at_end


def test_the_window_runs_from_the_first_open_to_the_last_close_in_utc():
    report = backtest_strategy(
        "ma_crossover", series_from_closes(np.linspace(100, 120, 60)), timeframe_seconds=HOUR
    )

    assert report.start == "2024-01-01T00:00:00+00:00"
    assert report.end == "2024-01-03T12:00:00+00:00"
    assert report.candles == 60


def test_a_window_too_short_to_annualize_reports_no_yearly_figures():
    report = backtest_strategy(
        "ma_crossover", series_from_closes(np.linspace(100, 120, 200)), timeframe_seconds=HOUR
    )

    assert report.metrics.sharpe is None and report.metrics.cagr is None
    assert report.buy_and_hold.sortino is None
    assert report.metrics.max_drawdown >= 0


def test_warm_up_candles_are_flat_and_counted_in_the_metrics():
    series = series_from_closes(np.linspace(100, 200, 300))

    report = backtest_strategy(
        "ma_crossover", series, {"fast": 5, "slow": 40}, timeframe_seconds=HOUR
    )

    equity = report.curves().equity
    assert report.warmup_candles == 40
    # first long at close 40, filled at open 41: the 41 candles before are flat
    assert np.all(equity[: 41 + 1] == equity[0])
    assert equity[42] != equity[0]
    assert report.metrics.exposure == (300 - 41) / 300


def test_the_curves_are_left_out_of_the_json_and_are_read_only():
    series = series_from_closes(100 * np.cumprod(1 + np.random.default_rng(2).normal(0, 0.01, 100)))
    report = backtest_strategy(
        "ma_crossover", series, {"fast": 3, "slow": 8}, timeframe_seconds=HOUR
    )

    dumped = json.loads(report.model_dump_json())
    curves = report.curves()

    assert "equity" not in json.dumps(dumped)
    assert len(curves.time_ms) == len(curves.equity) == len(curves.buy_and_hold_equity) == 101
    assert curves.time_ms[0] == T0 and curves.time_ms[-1] == T0 + 100 * HOUR_MS
    assert curves.drawdown.max() == report.metrics.max_drawdown
    with pytest.raises(ValueError, match="read-only"):
        curves.equity[0] = 0.0
    rebuilt = StrategyBacktest.model_validate_json(report.model_dump_json())
    with pytest.raises(ValueError, match="curves were not kept"):
        rebuilt.curves()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fast": 1}, r"fast: Input should be greater than or equal to 2 \(got 1\)"),
        ({"slow": 900}, r"slow: Input should be less than or equal to 500 \(got 900\)"),
        ({"fast": 30, "slow": 20}, r"slow \(20\) must be greater than fast \(30\)"),
        ({"fastest": 3}, r"fastest is not a parameter \(fields: fast, slow\)"),
    ],
)
def test_bad_params_are_refused_in_one_line_naming_the_field_and_bound(params, message):
    series = series_from_closes(np.linspace(100, 120, 100))

    with pytest.raises(ValueError, match=message) as refused:
        backtest_strategy("ma_crossover", series, params, timeframe_seconds=HOUR)

    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith("ma_crossover params: ")


def test_another_strategys_params_model_is_refused():
    with pytest.raises(ValueError, match="ma_crossover takes MaCrossoverParams, not PatternParams"):
        backtest_strategy(
            "ma_crossover",
            series_from_closes(np.linspace(100, 120, 100)),
            PatternParams(),
            timeframe_seconds=HOUR,
        )


def test_an_unknown_strategy_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"no strategy named 'hodl'.*ma_crossover"):
        backtest_strategy("hodl", series_from_closes([1.0, 2.0]), timeframe_seconds=HOUR)


def test_a_single_candle_cannot_be_backtested():
    with pytest.raises(ValueError, match="at least 2 candles"):
        backtest_strategy("ma_crossover", series_from_closes([100.0]), timeframe_seconds=HOUR)
