"""`tradegraph backtest --grid ... [--walk-forward]`: grid search and walk-forward on the CLI.

The work is `tools.grid` and `tools.walk_forward`; this module reads the options, picks where
the grid points run (this machine, or Ray with `--ray`), and shows the folds.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.table import Table

from core.errors import UserError

if TYPE_CHECKING:
    from core.market.series import CandleSeries
    from tools.grid import GridResult, ParameterGrid
    from tools.grid_execution import MapPoints
    from tools.vector_backtest import BacktestCosts
    from tools.walk_forward import WalkForwardResult

console = Console()

TOP_POINTS = 10
"""Grid points a grid search shows (report.json holds them all)."""


@dataclass(frozen=True)
class WalkOptions:
    grid: tuple[str, ...]
    walk_forward: bool
    in_sample: int | None
    out_of_sample: int | None
    objective: str
    ray: str | None


def parse_grid(strategy: str, entries: tuple[str, ...], fixed: dict[str, str]) -> ParameterGrid:
    """`--grid fast=5,10,20` options (and fixed `--param`s, a grid of one value) as a grid."""
    from tools.grid import ParameterGrid

    values: dict[str, tuple[Any, ...]] = {k: (v,) for k, v in fixed.items()}
    for entry in entries:
        name, sep, listed = entry.partition("=")
        choices = tuple(v.strip() for v in listed.split(",") if v.strip())
        if not sep or not name.strip() or not choices:
            raise UserError(f"--grid {entry!r}: write it as NAME=A,B,C, e.g. --grid fast=5,10,20")
        if name.strip() in values:
            raise UserError(f"--grid {name.strip()} is given twice (or also as --param)")
        values[name.strip()] = choices
    try:
        return ParameterGrid(strategy=strategy, values=values)
    except ValueError as exc:
        raise UserError(f"{_first_line(exc)} (tradegraph backtest --list)") from None


def _first_line(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    return str(exc)


def default_windows(candles: int) -> tuple[int, int]:
    """In-sample three times out-of-sample, about five folds over the candles."""
    out = max(20, candles // 8)
    return 3 * out, out


def points_runner(ray: str | None) -> AbstractContextManager[MapPoints | None]:
    if ray is None:
        return nullcontext(None)
    from evals.walk_forward_ray import ray_points

    return ray_points(ray)


def run_walk_forward(
    series: CandleSeries,
    grid: ParameterGrid,
    costs: BacktestCosts,
    options: WalkOptions,
    partner: CandleSeries | None,
    period_seconds: int,
) -> tuple[WalkForwardResult, float]:
    """The walk-forward and buy-and-hold's return over the same out-of-sample span."""
    from tools.vector_backtest import trade_signal
    from tools.walk_forward import walk_forward

    default_in, default_out = default_windows(len(series))
    in_sample = options.in_sample or default_in
    out_of_sample = options.out_of_sample or default_out
    if in_sample + out_of_sample > len(series):
        raise UserError(
            f"--in-sample {in_sample} plus --out-of-sample {out_of_sample} candles is more than "
            f"the {len(series):,} candles in the window: shorten them or widen --from/--to"
        )
    with points_runner(options.ray) as map_points:
        try:
            result = walk_forward(
                series, grid, costs, in_sample=in_sample, out_of_sample=out_of_sample,
                objective=options.objective,  # type: ignore[arg-type]
                partner=partner, period_seconds=period_seconds, map_points=map_points,
            )  # fmt: skip
        except ValueError as exc:
            raise UserError(_first_line(exc)) from None
    first, last = result.folds[0].out_of_sample.start, result.folds[-1].out_of_sample.stop
    span = series.window(first, last)
    held = trade_signal(span, np.ones(len(span), dtype=np.bool_), costs)
    return result, float(held.equity[-1] / held.equity[0] - 1.0)


def run_grid_search(
    series: CandleSeries,
    grid: ParameterGrid,
    costs: BacktestCosts,
    options: WalkOptions,
    partner: CandleSeries | None,
    period_seconds: int,
) -> GridResult:
    from tools.grid import grid_search

    with points_runner(options.ray) as map_points:
        try:
            return grid_search(
                series, grid, costs, options.objective,  # type: ignore[arg-type]
                partner=partner, period_seconds=period_seconds, map_points=map_points,
            )  # fmt: skip
        except ValueError as exc:
            raise UserError(_first_line(exc)) from None


def _day(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def show_walk_forward(result: WalkForwardResult, held_return: float) -> None:
    objective = result.objective
    table = Table(
        title=f"Walk-forward · {result.strategy} · {result.points} grid points · "
        f"objective {objective}\nin-sample {result.windows.in_sample:,} candles, "
        f"out-of-sample {result.windows.out_of_sample:,}"
    )
    for column in ("fold", "out-of-sample window", "chosen parameters"):
        table.add_column(column)
    for column in (f"IS {objective}", f"OOS {objective}", "OOS return", "OOS trades"):
        table.add_column(column, justify="right")
    for fold in result.folds:
        oos = fold.out_of_sample
        table.add_row(
            str(fold.index + 1), f"{_day(oos.first_ts)} → {_day(oos.last_ts)}",
            _params(fold.params), f"{fold.in_sample_score:.2f}",
            f"{fold.out_of_sample_score:.2f}", f"{fold.out_of_sample_return:+.2%}",
            str(fold.out_of_sample_trades),
        )  # fmt: skip
    console.print(table)
    stitched = result.stitched
    console.print(
        f"Out of sample, stitched: return {stitched.total_return:+.2%} (buy and hold "
        f"{held_return:+.2%}), max drawdown {stitched.max_drawdown:.2%}, Sharpe "
        f"{stitched.sharpe or 0:.2f}, {stitched.trades} trades\n"
        f"Mean {objective}: in-sample {result.mean_in_sample_score:.2f}, out-of-sample "
        f"{result.mean_out_of_sample_score:.2f}; the gap (overfitting) "
        f"{result.overfitting_gap:.2f}. Folds positive out of sample: "
        f"{result.positive_share:.0%}; parameters changed {result.parameter_changes} times."
    )


def show_grid(result: GridResult) -> None:
    table = Table(
        title=f"Grid search · {result.strategy} · {len(result.points)} points"
        f"{f' ({result.skipped} invalid combinations skipped)' if result.skipped else ''}"
        f" · ranked by {result.objective}"
    )
    for column in ("rank", "parameters"):
        table.add_column(column)
    for column in (result.objective, "return", "max drawdown", "trades"):
        table.add_column(column, justify="right")
    for rank, point in enumerate(result.points[:TOP_POINTS], start=1):
        m = point.metrics
        table.add_row(
            str(rank), _params(point.params), f"{point.score:.2f}",
            f"{m.total_return:+.2%}", f"{m.max_drawdown:.2%}", str(m.trades),
        )  # fmt: skip
    console.print(table)
    console.print(
        "In-sample only: the best of many points flatters itself; --walk-forward measures "
        "the choice out of sample."
    )
