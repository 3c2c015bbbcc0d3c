"""Grid search and walk-forward: the grid's checks, the ranking, how folds cut the series, and
that no fold reads a candle after its out-of-sample window."""

import itertools

import numpy as np
import pytest

from core.market.series import CandleSeries
from tests.support import series_from_closes
from tools import grid_execution
from tools.grid import MAX_GRID_POINTS, ParameterGrid, grid_search
from tools.grid_execution import MAX_CANDLE_EVALUATIONS, in_process, local_processes
from tools.strategies import get_strategy
from tools.vector_backtest import BacktestCosts, trade_signal
from tools.walk_forward import walk_forward

HOUR = 3_600.0
CROSSOVER = get_strategy("ma_crossover")


def _random_walk(candles: int, seed: int = 3) -> CandleSeries:
    rng = np.random.default_rng(seed)
    return series_from_closes(100 * np.cumprod(1 + rng.normal(0.0002, 0.01, candles)))


def _grid(**values: list[int]) -> ParameterGrid:
    return ParameterGrid(strategy="ma_crossover", values=values)


SMALL = {"fast": [3, 5, 8, 12], "slow": [10, 20, 30, 45]}
"""16 combinations, one refused (fast 12 with slow 10): 15 points, two batches."""


def _walk(series: CandleSeries, **options):
    settings = {"in_sample": 200, "out_of_sample": 100, "map_points": in_process} | options
    return walk_forward(series, _grid(**SMALL), **settings)


def test_a_parameter_the_strategy_does_not_have_is_refused_by_name():
    with pytest.raises(ValueError, match="ma_crossover has no parameter 'period': use fast, slow"):
        _grid(period=[5, 10])


def test_a_value_out_of_bounds_is_refused_with_its_bound():
    with pytest.raises(ValueError, match=r"fast=1 is out of bounds: .*greater than or equal to 2"):
        _grid(fast=[1, 5], slow=[20])


def test_a_grid_larger_than_the_bound_is_refused_with_the_bound():
    with pytest.raises(ValueError, match=f"420 combinations, more than {MAX_GRID_POINTS}"):
        _grid(fast=list(range(2, 23)), slow=list(range(30, 50)))


def test_a_value_given_twice_and_an_unknown_strategy_are_refused():
    with pytest.raises(ValueError, match="fast lists a value twice"):
        _grid(fast=[5, 5.0], slow=[20])
    with pytest.raises(ValueError, match="no strategy named 'nope'"):
        ParameterGrid(strategy="nope", values={})


def test_combinations_the_strategy_refuses_as_a_whole_are_skipped_and_counted():
    points = _grid(fast=[10, 30], slow=[20, 40]).points()

    assert [(p.fast, p.slow) for p in points.params] == [(10, 20), (10, 40), (30, 40)]
    assert points.skipped == 1


def test_a_grid_with_no_valid_combination_is_refused():
    with pytest.raises(ValueError, match="none of the 2 combinations is valid"):
        _grid(fast=[40, 50], slow=[30]).points()


def test_on_a_steady_rise_the_trading_points_win_in_the_order_given():
    series = series_from_closes(np.linspace(100, 200, 300))

    result = grid_search(series, _grid(fast=[2, 3], slow=[4, 500]), objective="total_return")

    assert [(p.params["fast"], p.params["slow"]) for p in result.points] == [
        (2, 4), (3, 4), (2, 500), (3, 500)
    ]  # fmt: skip
    assert result.points[0].score == result.points[1].score > 0.3
    assert result.points[2].score == 0.0 and result.points[2].metrics.trades == 0


def test_on_a_falling_saw_staying_out_wins_and_a_tie_goes_to_the_first_given():
    series = series_from_closes(100 * np.cumprod(np.tile([1.02] * 3 + [0.98] * 7, 30)))

    result = grid_search(series, _grid(fast=[2, 3], slow=[4, 500]), objective="total_return")

    assert [(p.params["fast"], p.params["slow"]) for p in result.points[:2]] == [(2, 500), (3, 500)]
    assert result.best.score == 0.0 and result.best.metrics.trades == 0
    assert all(p.score < -0.3 and p.metrics.trades > 20 for p in result.points[2:])


def test_every_point_scores_what_its_own_backtest_scores():
    series = _random_walk(1_500)

    result = grid_search(series, _grid(**SMALL), objective="sortino")

    assert len(result.points) == 15 and result.skipped == 1
    for point in result.points:
        params = CROSSOVER.params(**point.params)
        alone = trade_signal(series, CROSSOVER.want(series, params)).metrics(HOUR)
        assert point.metrics == alone and point.score == alone.sortino
    scores = [p.score for p in result.points]
    assert scores == sorted(scores, reverse=True)


def test_a_parameter_that_is_off_by_default_is_searched_and_reported_as_none():
    series = _random_walk(600)
    grid = ParameterGrid(
        strategy="momentum", values={"lookback": (10, 20), "trend_period": (None, 50)}
    )

    searched = grid_search(series, grid, period_seconds=HOUR, map_points=in_process)
    walked = walk_forward(
        series, grid, in_sample=200, out_of_sample=100, period_seconds=HOUR, map_points=in_process
    )

    assert {p.params["trend_period"] for p in searched.points} == {None, 50}
    assert all(f.params["trend_period"] in (None, 50) for f in walked.folds)


def test_a_flag_without_bounds_is_a_grid_parameter_like_any_other():
    grid = ParameterGrid(strategy="macd_signal", values={"above_zero": (False, True)})

    points = grid.points()

    assert [p.above_zero for p in points.params] == [False, True]


def test_rolling_folds_follow_their_in_sample_windows_and_tile_the_rest():
    result = _walk(_random_walk(1_050))

    spans = [(f.in_sample.start, f.in_sample.stop, f.out_of_sample.start, f.out_of_sample.stop)
             for f in result.folds]  # fmt: skip
    assert spans == [(s - 200, s, s, s + 100) for s in range(200, 1_000, 100)]
    assert len(result.equity) == 1 + 800  # the last 50 candles make no whole fold


def test_a_longer_step_leaves_gaps_and_anchored_windows_start_at_the_first_candle():
    series = _random_walk(1_000)

    stepped = _walk(series, step=150)
    anchored = _walk(series, anchored=True)

    assert [(f.out_of_sample.start, f.out_of_sample.stop) for f in stepped.folds] == [
        (200, 300), (350, 450), (500, 600), (650, 750), (800, 900)
    ]  # fmt: skip
    assert all(f.in_sample.stop == f.out_of_sample.start for f in stepped.folds)
    assert [(f.in_sample.start, f.in_sample.stop) for f in anchored.folds] == [
        (0, s) for s in range(200, 1_000, 100)
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"step": 50}, r"step \(50\) is shorter than out_of_sample \(100\)"),
        ({"in_sample": 5}, "greater than or equal to 20"),
        ({"in_sample": 901}, "1000 candles are too few for one fold"),
        ({"objective": "profit"}, "unknown objective 'profit'"),
    ],
)
def test_windows_that_cannot_make_a_fold_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        _walk(_random_walk(1_000), **options)


def test_work_beyond_the_bound_is_refused_before_any_is_done():
    series = series_from_closes(np.full(200_000, 100.0))
    grid = _grid(fast=list(range(2, 22)), slow=list(range(30, 50)))

    with pytest.raises(ValueError, match=f"more than {MAX_CANDLE_EVALUATIONS:,}"):
        grid_search(series, grid)


@pytest.mark.parametrize("jump", [3.0, 0.3])
def test_a_fold_and_the_next_choice_are_unchanged_when_every_later_candle_is_replaced(jump):
    series = _random_walk(1_300)
    future = _random_walk(1_300, seed=99)
    cut = 700  # the end of fold 4's out-of-sample window
    columns = {
        name: np.concatenate([getattr(series, name)[:cut], getattr(future, name)[cut:] * jump])
        for name in ("open", "high", "low", "close", "volume")
    }
    changed = CandleSeries(ts=series.ts, **columns)  # a jump up or down: any peek shows

    before, after = _walk(series), _walk(changed)

    assert before.folds[4].out_of_sample.stop == cut == before.folds[5].in_sample.stop
    assert after.folds[:5] == before.folds[:5]
    assert after.equity[: 1 + 500] == before.equity[: 1 + 500]
    chosen = ("params", "in_sample_score", "in_sample_return")  # on candles before the cut
    assert [getattr(after.folds[5], k) for k in chosen] == [
        getattr(before.folds[5], k) for k in chosen
    ]
    assert after.folds[5].out_of_sample_return != before.folds[5].out_of_sample_return


def test_each_fold_chooses_the_best_in_sample_point_and_trades_it_out_of_sample():
    series = _random_walk(1_000)
    result = _walk(series, objective="calmar")
    points = _grid(**SMALL).points().params
    wants = [CROSSOVER.want(series, p) for p in points]

    for fold in result.folds:
        start, stop = fold.in_sample.start, fold.in_sample.stop
        scores = [
            trade_signal(series.window(start, stop), want[start:stop]).metrics(HOUR).calmar
            for want in wants
        ]
        best = max(scores)
        assert fold.in_sample_score == best
        assert fold.params == points[scores.index(best)].model_dump()


def test_the_out_of_sample_window_takes_its_warm_up_from_the_candles_before_it():
    series = series_from_closes(
        np.concatenate([np.linspace(100, 90, 300), np.linspace(90, 150, 60)])
    )
    grid = _grid(fast=[10], slow=[120])

    result = walk_forward(series, grid, in_sample=300, out_of_sample=60, map_points=in_process)

    [fold] = result.folds
    assert fold.out_of_sample_return > 0.3  # 60 candles could not warm up a 120-candle average
    history_only = CROSSOVER.want(series.window(0, 360), CROSSOVER.params(fast=10, slow=120))
    alone = trade_signal(series.window(300, 360), history_only[300:])
    assert fold.out_of_sample_return == alone.metrics(HOUR).total_return


def test_the_summary_is_what_the_folds_say():
    result = _walk(_random_walk(1_500, seed=8))
    folds = result.folds

    assert result.mean_in_sample_score == np.mean([f.in_sample_score for f in folds])
    assert result.mean_out_of_sample_score == np.mean([f.out_of_sample_score for f in folds])
    assert result.overfitting_gap == result.mean_in_sample_score - result.mean_out_of_sample_score
    assert result.positive_share == np.mean([f.out_of_sample_return > 0 for f in folds])
    changes = sum(a.params != b.params for a, b in itertools.pairwise(folds))
    assert result.parameter_changes == changes
    assert result.parameter_stability == 1 - changes / (len(folds) - 1)
    growth = np.prod([1 + f.out_of_sample_return for f in folds])
    assert result.stitched.total_return == pytest.approx(growth - 1, rel=1e-9)
    assert result.stitched.trades == sum(f.out_of_sample_trades for f in folds)


def test_local_processes_give_exactly_the_in_process_result():
    series = _random_walk(1_500, seed=5)
    costs = BacktestCosts(slippage_bps=2.0)

    here = _walk(series, costs=costs)
    pooled = _walk(series, costs=costs, map_points=local_processes(2))

    assert pooled == here
    assert pooled.model_dump_json() == here.model_dump_json()


def test_small_work_stays_in_this_process_and_larger_work_goes_to_local_processes(monkeypatch):
    pools = []
    monkeypatch.setattr(grid_execution, "local_processes", lambda: pools.append(1) or in_process)

    grid_search(_random_walk(1_500), _grid(**SMALL))
    assert pools == []
    grid_search(_random_walk(80_000), _grid(**SMALL))
    assert pools == [1]


@pytest.mark.parametrize("workers", [0, 65])
def test_a_pool_size_out_of_bounds_is_refused(workers):
    with pytest.raises(ValueError, match=f"workers must be between 1 and 64, not {workers}"):
        local_processes(workers)
