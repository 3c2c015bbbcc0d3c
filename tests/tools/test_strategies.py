"""The contract every registered strategy keeps: causal, bounded, quiet in warm-up, useful.

Hand-checked entries and exits per strategy are in test_strategy_rules.py.
"""

from typing import Any

import annotated_types
import numpy as np
import pytest
from pydantic import ValidationError

from core.market.series import CandleSeries
from core.market.source import MarketRequest, open_market
from core.market.synthetic import generate_synthetic
from tests.conftest import SHARED
from tools.strategies import STRATEGIES, get_strategy
from tools.strategies.base import Strategy, StrategyParams

NAMES = sorted(STRATEGIES)
CUTS = (1, 40, 333, 1500, 4444, 8000)

VARIANTS: dict[str, dict[str, Any]] = {
    "ma_crossover": {"fast": 5, "slow": 30},
    "zscore_reversion": {"window": 20, "entry_z": 1.5, "exit_z": -0.5},
    "momentum": {"lookback": 48, "threshold_pct": 1.0, "trend_period": 200},
    "pairs": {"window": 100, "entry_z": 1.5, "exit_z": 0.5},
    "bollinger": {"period": 30, "nbdev": 1.5},
    "rsi_divergence": {"pivot": 2, "lookback": 30, "max_hold": 12},
    "macd_signal": {"fast": 8, "slow": 21, "signal": 5, "above_zero": True},
    "stochastic": {"fastk": 9, "slowk": 1, "slowd": 5, "oversold": 30, "overbought": 70},
    "volume_profile_breakout": {"window": 48, "bins": 12, "volume_factor": 0.0},
    "support_resistance_breakout": {"window": 50, "pivot": 2, "margin_pct": 0.0},
}
"""A non-default parameter set per strategy, so the optional branches are checked too."""

INCOHERENT: dict[str, dict[str, Any]] = {
    "ma_crossover": {"fast": 50, "slow": 20},
    "zscore_reversion": {"entry_z": 1.0, "exit_z": 1.0},
    "pairs": {"entry_z": 1.0, "exit_z": 2.0},
    "rsi_divergence": {"rsi_level": 50.0, "exit_rsi": 45.0},
    "macd_signal": {"fast": 26, "slow": 12},
    "stochastic": {"oversold": 50.0, "overbought": 50.0},
    "volume_profile_breakout": {"window": 10, "bins": 20},
    "support_resistance_breakout": {"window": 10, "pivot": 5},
}
"""Parameters each inside its own bounds that the strategy's cross-field check refuses."""


def _open(symbol: str) -> CandleSeries:
    request = MarketRequest(
        spec=str(SHARED / "markets" / "binance-2023"), symbol=symbol, timeframe="1h"
    )
    return open_market(request)[1]


def _aligned(first: CandleSeries, partner: CandleSeries) -> tuple[CandleSeries, CandleSeries]:
    """The candles both markets have, matched by open time."""
    common = np.intersect1d(first.ts, partner.ts)
    keep_first, keep_partner = np.isin(first.ts, common), np.isin(partner.ts, common)
    return _select(first, keep_first), _select(partner, keep_partner)


def _select(series: CandleSeries, keep: np.ndarray) -> CandleSeries:
    return CandleSeries(
        ts=series.ts[keep],
        open=series.open[keep],
        high=series.high[keep],
        low=series.low[keep],
        close=series.close[keep],
        volume=series.volume[keep],
    )


@pytest.fixture(scope="module")
def btc_eth_2023() -> tuple[CandleSeries, CandleSeries]:
    """A year of real 1h BTC/USDT, and ETH/USDT aligned with it (the pairs partner)."""
    if not (SHARED / "markets").is_dir():
        pytest.skip("../shared/markets is absent: recorded-market tests need it")
    return _aligned(_open("BTC/USDT"), _open("ETH/USDT"))


@pytest.fixture(scope="module")
def synthetic_pair() -> tuple[CandleSeries, CandleSeries]:
    return generate_synthetic(11, bars=3000), generate_synthetic(12, bars=3000)


def _want(
    strategy: Strategy[Any], params: StrategyParams, market: tuple[CandleSeries, CandleSeries]
) -> np.ndarray:
    first, partner = market
    return strategy.want(first, params, partner if strategy.needs_partner else None)


def _cut(market: tuple[CandleSeries, CandleSeries], k: int) -> tuple[CandleSeries, CandleSeries]:
    return market[0].window(0, k), market[1].window(0, k)


def _param_sets(name: str) -> list[StrategyParams]:
    model = STRATEGIES[name].params
    return [model(), model(**VARIANTS[name])]


def _bounded_fields(model: type[StrategyParams]) -> list[tuple[str, float, float]]:
    bounds = []
    for field_name, field in model.model_fields.items():
        lower = [m.ge for m in field.metadata if isinstance(m, annotated_types.Ge)]
        upper = [m.le for m in field.metadata if isinstance(m, annotated_types.Le)]
        if lower and upper:
            bounds.append((field_name, lower[0], upper[0]))
    return bounds


def test_every_strategy_has_a_variant_and_the_registry_names_them_all():
    assert set(VARIANTS) == set(STRATEGIES)
    assert len(STRATEGIES) == 10
    assert all(STRATEGIES[name].name == name for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_defaults_validate_and_every_numeric_field_is_bounded_and_described(name):
    strategy = STRATEGIES[name]

    defaults = strategy.params()

    assert strategy.description and "\n" not in strategy.description
    assert strategy.warmup(defaults) >= 1
    bounded = {field for field, _, _ in _bounded_fields(strategy.params)}
    for field_name, field in strategy.params.model_fields.items():
        assert field.description, f"{name}.{field_name} has no description"
        if field.annotation is not bool:
            assert field_name in bounded, f"{name}.{field_name} has no ge/le bounds"


@pytest.mark.parametrize("name", NAMES)
def test_a_parameter_outside_its_bounds_is_refused(name):
    model = STRATEGIES[name].params

    for field_name, lower, upper in _bounded_fields(model):
        for outside in (lower - 1, upper + 1):
            with pytest.raises(ValidationError):
                model(**{field_name: outside})


@pytest.mark.parametrize("name", NAMES)
def test_unknown_keys_and_nan_are_refused(name):
    model = STRATEGIES[name].params
    first_float = next(
        (f for f, field in model.model_fields.items() if field.annotation is float), None
    )

    with pytest.raises(ValidationError):
        model(no_such_parameter=1)
    if first_float is not None:
        with pytest.raises(ValidationError):
            model(**{first_float: float("nan")})


@pytest.mark.parametrize("name", sorted(INCOHERENT))
def test_a_cross_field_check_refuses_incoherent_parameters(name):
    with pytest.raises(ValidationError):
        STRATEGIES[name].params(**INCOHERENT[name])


@pytest.mark.parametrize("name", NAMES)
def test_the_signal_is_one_bool_per_candle_and_false_in_warm_up(name, synthetic_pair):
    strategy = STRATEGIES[name]

    for params in _param_sets(name):
        want = _want(strategy, params, synthetic_pair)

        assert want.dtype == np.bool_ and want.shape == (len(synthetic_pair[0]),)
        assert not want[: strategy.warmup(params)].any()


@pytest.mark.parametrize("name", NAMES)
def test_the_signal_up_to_t_is_unchanged_when_the_future_is_cut_on_synthetic_data(
    name, synthetic_pair
):
    strategy = STRATEGIES[name]

    for params in _param_sets(name):
        full = _want(strategy, params, synthetic_pair)

        for k in (1, 25, 260, 999, 2999):
            assert np.array_equal(_want(strategy, params, _cut(synthetic_pair, k)), full[:k]), k


@pytest.mark.parametrize("name", NAMES)
def test_the_signal_up_to_t_is_unchanged_when_the_future_is_cut_on_real_candles(name, btc_eth_2023):
    strategy = STRATEGIES[name]

    for params in _param_sets(name):
        full = _want(strategy, params, btc_eth_2023)

        for k in CUTS:
            assert np.array_equal(_want(strategy, params, _cut(btc_eth_2023, k)), full[:k]), k


@pytest.mark.parametrize("name", NAMES)
def test_the_signal_up_to_t_ignores_a_different_future(name, btc_eth_2023):
    strategy, params = STRATEGIES[name], STRATEGIES[name].params()
    first, partner = btc_eth_2023
    k = 5000
    crashed = _select(first, np.ones(len(first), dtype=np.bool_))
    for column in (crashed.open, crashed.high, crashed.low, crashed.close):
        column[k:] = column[k:][::-1] * 0.5

    want = _want(strategy, params, (first, partner))
    want_crashed = _want(strategy, params, (crashed, partner))

    assert np.array_equal(want[:k], want_crashed[:k])


@pytest.mark.parametrize("name", NAMES)
def test_the_defaults_trade_on_a_year_of_real_hourly_btc(name, btc_eth_2023):
    strategy = STRATEGIES[name]

    want = _want(strategy, strategy.params(), btc_eth_2023)

    entries = int(np.count_nonzero(want[1:] & ~want[:-1]))
    assert entries >= 1 and not want.all()
    assert not want[: strategy.warmup(strategy.params())].any()


def test_pairs_refuses_a_missing_or_misaligned_partner(synthetic_pair):
    pairs = STRATEGIES["pairs"]
    first, partner = synthetic_pair

    with pytest.raises(ValueError, match="partner"):
        pairs.want(first, pairs.params())
    with pytest.raises(ValueError, match="partner"):
        pairs.want(first, pairs.params(), partner.window(0, 100))


def test_an_unknown_strategy_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="bollinger"):
        get_strategy("nope")
