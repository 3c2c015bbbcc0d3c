"""Portfolio weights stay within the risk settings' caps, and each method does what it says."""

from functools import reduce

import numpy as np
import pytest
from pydantic import ValidationError

from core.market.series import CandleSeries
from core.market.source import MarketRequest, open_market
from core.types import RiskLimits
from tests.conftest import SHARED, needs_shared
from tests.support import series_from_closes
from tools.portfolio import METHODS, PortfolioCaps, PortfolioRequest, optimize_portfolio
from tools.portfolio_data import AlignedCloses, align_closes
from tools.portfolio_estimates import ledoit_wolf, risk_contributions, simple_returns
from tools.portfolio_loading import load_aligned_closes
from tools.portfolio_methods import hrp, min_variance, risk_parity, water_fill

RECORDING = SHARED / "markets" / "binance-2020-09_2021-10"
FIVE = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT")
HOUR_MS = 3_600_000
ROUNDING = 1e-9


def simulated(assets: int, candles: int = 600, seed: int = 5, drift: float = 2e-4) -> AlignedCloses:
    """Hourly closes of correlated assets with different volatilities (seeded)."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(assets, assets)) / assets
    volatility = np.linspace(0.004, 0.02, assets)
    covariance = (loadings @ loadings.T + np.eye(assets)) * np.outer(volatility, volatility)
    means = drift * rng.uniform(-1.0, 3.0, assets)
    return from_returns(rng.multivariate_normal(means, covariance, size=candles - 1))


def caps(weight: float, gross: float = 1.0) -> PortfolioCaps:
    return PortfolioCaps(max_weight=weight, max_gross=gross)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("weight", "gross"), [(1.0, 1.0), (0.3, 1.0), (0.25, 0.6), (0.15, 0.9)])
def test_every_weight_is_within_its_cap_and_the_total_within_gross_exposure(method, weight, gross):
    closes = simulated(6)

    result = optimize_portfolio(closes, PortfolioRequest(method=method), caps(weight, gross))

    weights = np.array(list(result.weights.values()))
    assert np.all(weights >= 0.0)
    assert np.all(weights <= weight + ROUNDING)
    assert weights.sum() <= gross + ROUNDING
    assert result.cash == pytest.approx(1.0 - weights.sum(), abs=ROUNDING)


@pytest.mark.parametrize("method", ["min_variance", "max_sharpe", "risk_parity", "hrp"])
def test_the_methods_that_invest_the_budget_invest_all_of_it(method):
    result = optimize_portfolio(simulated(6), PortfolioRequest(method=method), caps(0.3, 0.9))

    assert sum(result.weights.values()) == pytest.approx(0.9, abs=1e-7)
    assert result.cash == pytest.approx(0.1, abs=1e-7)
    assert "caps the invested total at 90%" in result.note
    assert "10.0% in cash" in result.note


def test_min_variance_of_two_uncorrelated_assets_is_inverse_variance():
    variances = np.array([0.04, 0.09])

    weights = min_variance(np.diag(variances), cap=1.0, budget=1.0)

    inverse = (1.0 / variances) / (1.0 / variances).sum()
    np.testing.assert_allclose(weights, inverse, atol=1e-7)


@pytest.mark.parametrize("seed", range(5))
def test_uncapped_risk_parity_gives_every_asset_the_same_share_of_risk(seed):
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(8, 8))
    covariance = (loadings @ loadings.T / 8 + 0.05 * np.eye(8)) * 0.3

    weights = risk_parity(covariance, cap=1.0, budget=1.0)

    assert weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(risk_contributions(weights, covariance), 1.0 / 8, atol=1e-9)


def test_capped_risk_parity_keeps_the_cap_and_the_rest_as_even_as_it_allows():
    covariance = np.diag([0.01, 0.04, 0.09, 0.16])

    weights = risk_parity(covariance, cap=0.4, budget=1.0)

    uncapped = risk_parity(covariance, cap=1.0, budget=1.0)
    assert uncapped[0] > 0.4
    assert weights[0] == pytest.approx(0.4, abs=1e-6)
    assert weights.sum() == pytest.approx(1.0)
    shares = risk_contributions(weights, covariance)
    assert np.ptp(shares[1:]) < np.ptp(risk_contributions(np.full(4, 0.25), covariance)[1:])


def test_max_sharpe_beats_equal_weights_in_sample():
    closes = simulated(6, seed=8)
    request = PortfolioRequest(method="max_sharpe")

    result = optimize_portfolio(closes, request, caps(0.5))

    expected, covariance = estimates(closes, request)
    equal = np.full(6, 1.0 / 6)
    assert result.sharpe > sharpe(equal, expected, covariance) + 0.1


def test_no_allowed_portfolio_has_a_higher_sharpe_than_max_sharpe_in_sample():
    closes, request = simulated(6, seed=8), PortfolioRequest(method="max_sharpe")
    expected, covariance = estimates(closes, request)
    others = allowed_portfolios(6, cap=0.3)

    result = optimize_portfolio(closes, request, caps(0.3))

    assert result.sharpe >= max(sharpe(w, expected, covariance) for w in others)


def test_no_allowed_portfolio_is_less_volatile_than_min_variance_in_sample():
    closes, request = simulated(6, seed=8), PortfolioRequest(method="min_variance")
    _, covariance = estimates(closes, request)
    others = allowed_portfolios(6, cap=0.3)

    result = optimize_portfolio(closes, request, caps(0.3))

    assert result.volatility <= min(np.sqrt(w @ covariance @ w) for w in others)


def test_max_sharpe_holds_cash_when_no_asset_gained_over_the_window():
    returns = np.random.default_rng(2).normal(-2e-3, 5e-3, size=(400, 4))
    assert np.all(returns.mean(axis=0) < 0)

    result = optimize_portfolio(
        from_returns(returns), PortfolioRequest(method="max_sharpe"), caps(0.5)
    )

    assert all(weight == 0.0 for weight in result.weights.values())
    assert result.cash == 1.0
    assert "max_sharpe holds cash" in result.note


def test_mean_variance_keeps_cash_when_risk_does_not_pay_at_its_risk_aversion():
    closes = simulated(5, seed=8)

    bold = optimize_portfolio(
        closes, PortfolioRequest(method="mean_variance", risk_aversion=0.5), caps(0.5)
    )
    timid = optimize_portfolio(
        closes, PortfolioRequest(method="mean_variance", risk_aversion=500.0), caps(0.5)
    )

    assert timid.cash > bold.cash
    assert timid.volatility < bold.volatility
    assert "more risk does not pay" in timid.note


def test_hrp_splits_a_block_diagonal_covariance_by_cluster_then_within_it():
    calm, wild, inside = 0.04, 0.16, 0.9
    # assets 0 and 2 form the calm block, 1 and 3 the wild one: interleaved on purpose, so
    # only the clustering (not the input order) can pair them.
    covariance = np.array(
        [
            [calm, 0.0, inside * calm, 0.0],
            [0.0, wild, 0.0, inside * wild],
            [inside * calm, 0.0, calm, 0.0],
            [0.0, inside * wild, 0.0, wild],
        ]
    )

    weights = hrp(covariance, cap=1.0, budget=1.0)

    # each block's variance at inverse-variance weights is var*(1+rho)/2: the calm block gets
    # wild/(calm+wild) = 80% of the budget, split evenly inside it.
    np.testing.assert_allclose(weights, [0.4, 0.1, 0.4, 0.1], atol=1e-12)


def test_infeasible_caps_invest_what_they_allow_and_keep_the_rest_in_cash():
    closes = simulated(3)

    result = optimize_portfolio(closes, PortfolioRequest(method="min_variance"), caps(0.2))

    assert list(result.weights.values()) == pytest.approx([0.2, 0.2, 0.2])
    assert result.cash == pytest.approx(0.4)
    assert "infeasible to invest 100%: 3 assets capped at 20% each" in result.note
    assert "40.0% in cash" in result.note


def test_caps_come_from_the_risk_settings():
    limits = RiskLimits(max_position_fraction=0.3, max_gross_exposure=0.8, max_open_positions=2)

    result = optimize_portfolio(
        simulated(4), PortfolioRequest(method="hrp"), PortfolioCaps.from_limits(limits)
    )

    assert (result.caps.max_weight, result.caps.max_gross) == (0.3, 0.8)
    assert max(result.weights.values()) <= 0.3 + ROUNDING
    assert "risk.max_open_positions is 2" in result.note


def test_a_symbol_the_settings_do_not_allow_is_refused():
    allowed = PortfolioCaps(max_weight=0.5, max_gross=1.0, allowed_symbols=("A0/USDT",))

    with pytest.raises(ValueError, match=r"A1/USDT, A2/USDT not in risk.allowed_symbols"):
        optimize_portfolio(simulated(3), PortfolioRequest(method="hrp"), allowed)


def test_an_asset_that_never_moved_is_refused():
    closes = simulated(3)
    flat = closes.closes.copy()
    flat[:, 1] = 1.0

    with pytest.raises(ValueError, match="A1/USDT never moved over the window"):
        optimize_portfolio(
            AlignedCloses(symbols=closes.symbols, timeframe="1h", ts=closes.ts, closes=flat),
            PortfolioRequest(method="min_variance"),
            caps(0.5),
        )


def test_the_lookback_reads_only_the_last_candles():
    closes = simulated(3, candles=500)

    result = optimize_portfolio(closes, PortfolioRequest(method="hrp", lookback=100), caps(1.0))

    assert result.candles == 100
    assert result.first.timestamp() * 1000 == closes.ts[-100]


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"method": "equal_weight"}, "Input should be 'mean_variance'"),
        ({"method": "hrp", "lookback": 5}, "greater than or equal to 31"),
        ({"method": "mean_variance", "risk_aversion": 0.0}, "greater than 0"),
        ({"method": "hrp", "candles_per_year": float("inf")}, "finite number"),
        ({"method": "hrp", "max_weight": 0.5}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_request_is_refused_saying_what_is_wrong(fields, fragment):
    with pytest.raises(ValidationError, match=fragment):
        PortfolioRequest(**fields)


def test_a_position_cap_above_the_gross_cap_is_refused():
    with pytest.raises(ValidationError, match=r"max_weight \(0.6\) cannot exceed max_gross"):
        PortfolioCaps(max_weight=0.6, max_gross=0.5)


def test_a_lookback_longer_than_the_window_is_refused():
    with pytest.raises(
        ValueError, match="lookback 500 needs 500 common candles, the window has 200"
    ):
        optimize_portfolio(
            simulated(3, candles=200), PortfolioRequest(method="hrp", lookback=500), caps(1.0)
        )


@pytest.mark.parametrize(
    ("symbols", "fragment"),
    [(("A/USDT",), "at least 2 symbols, got 1"), (("A/USDT", "A/USDT"), "named more than once")],
)
def test_closes_need_two_distinct_symbols(symbols, fragment):
    with pytest.raises(ValueError, match=fragment):
        AlignedCloses(
            symbols=symbols,
            timeframe="1h",
            ts=np.arange(40, dtype=np.int64),
            closes=np.ones((40, len(symbols))),
        )


def test_closes_must_be_positive_prices():
    prices = np.ones((40, 2))
    prices[7, 1] = 0.0

    with pytest.raises(ValueError, match="every close must be a positive finite price"):
        AlignedCloses(symbols=("A/USDT", "B/USDT"), timeframe="1h", ts=np.arange(40), closes=prices)


def test_alignment_keeps_only_the_candles_every_symbol_has():
    first = series_from_closes(np.linspace(100.0, 140.0, 60))
    second = without(series_from_closes(np.linspace(10.0, 12.0, 60)), [5, 6, 30])

    aligned = align_closes({"A/USDT": first, "B/USDT": second}, "1h")

    assert aligned.ts.size == 57
    np.testing.assert_array_equal(aligned.ts, second.ts)
    np.testing.assert_array_equal(aligned.closes[:, 0], np.delete(first.close, [5, 6, 30]))
    np.testing.assert_array_equal(aligned.closes[:, 1], second.close)


def test_too_few_common_candles_are_refused():
    first = series_from_closes(np.linspace(100.0, 140.0, 60))
    second = without(series_from_closes(np.linspace(10.0, 12.0, 60)), list(range(0, 60, 2)))

    with pytest.raises(ValueError, match="only 30 candles are common to A/USDT, B/USDT"):
        align_closes({"A/USDT": first, "B/USDT": second}, "1h")


@pytest.mark.slow  # importing scikit-learn takes seconds
def test_the_estimated_covariance_is_scikit_learns_ledoit_wolf():
    sklearn = pytest.importorskip("sklearn.covariance", reason="scikit-learn is not installed")
    returns = simple_returns(simulated(8, candles=300).closes)

    ours = ledoit_wolf(returns)

    theirs, shrinkage = sklearn.ledoit_wolf(returns)
    assert ours.shrinkage == pytest.approx(shrinkage, rel=1e-12)
    np.testing.assert_allclose(ours.matrix, theirs, rtol=1e-12, atol=0.0)


@needs_shared
@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_on_five_recorded_symbols(method):
    closes = load_aligned_closes(str(RECORDING), FIVE, timeframe="4h")
    limits = PortfolioCaps.from_limits(RiskLimits())

    result = optimize_portfolio(closes, PortfolioRequest(method=method, lookback=1000), limits)

    assert tuple(result.weights) == FIVE
    assert sum(result.weights.values()) <= 1.0 + ROUNDING
    assert max(result.weights.values()) <= 0.5 + ROUNDING
    assert result.volatility > 0.0
    assert sum(result.risk_contributions.values()) == pytest.approx(1.0)


@needs_shared
def test_recorded_symbols_are_aligned_on_the_candles_they_all_have():
    closes = load_aligned_closes(str(RECORDING), FIVE, timeframe="1h")

    alone = [
        open_market(MarketRequest(spec=str(RECORDING), symbol=symbol, timeframe="1h"))[1]
        for symbol in FIVE
    ]
    common = reduce(np.intersect1d, [series.ts for series in alone])
    np.testing.assert_array_equal(closes.ts, common)
    for column, series in enumerate(alone):
        kept = np.isin(series.ts, common)
        np.testing.assert_array_equal(closes.closes[:, column], series.close[kept])


def estimates(closes: AlignedCloses, request: PortfolioRequest) -> tuple[np.ndarray, np.ndarray]:
    """Annual expected returns and covariance, as the optimizer estimates them."""
    returns = simple_returns(closes.closes)
    covariance = ledoit_wolf(returns).matrix * request.candles_per_year
    return returns.mean(axis=0) * request.candles_per_year, covariance


def sharpe(weights: np.ndarray, expected: np.ndarray, covariance: np.ndarray) -> float:
    return float(expected @ weights / np.sqrt(weights @ covariance @ weights))


def allowed_portfolios(assets: int, cap: float, count: int = 2000) -> list[np.ndarray]:
    """Random fully invested portfolios within the cap (seeded)."""
    rng = np.random.default_rng(4)
    return [water_fill(rng.dirichlet(np.ones(assets)), cap, 1.0) for _ in range(count)]


def from_returns(returns: np.ndarray) -> AlignedCloses:
    candles, assets = returns.shape[0] + 1, returns.shape[1]
    closes = 100.0 * np.vstack([np.ones(assets), np.cumprod(1.0 + returns, axis=0)])
    return AlignedCloses(
        symbols=tuple(f"A{i}/USDT" for i in range(assets)),
        timeframe="1h",
        ts=np.arange(candles, dtype=np.int64) * HOUR_MS,
        closes=closes,
    )


def without(series: CandleSeries, rows: list[int]) -> CandleSeries:
    """`series` with candles missing, as exchange maintenance leaves them."""
    return CandleSeries(
        ts=np.delete(series.ts, rows),
        open=np.delete(series.open, rows),
        high=np.delete(series.high, rows),
        low=np.delete(series.low, rows),
        close=np.delete(series.close, rows),
        volume=np.delete(series.volume, rows),
    )
