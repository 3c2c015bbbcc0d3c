"""Grid search: a strategy's parameter grid, every point traded on one window and ranked.

A grid names candidate values per parameter; the points are their combinations, each checked
by the strategy's own parameter model. A value out of its bounds, or a parameter the strategy
does not have, is a mistake in the request and raises; a combination the model refuses as a
whole (a fast average not faster than the slow one) is skipped and counted, since crossing
two lists of periods naturally makes some. The grid is bounded (`MAX_GRID_POINTS`) so one
call stays within seconds.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from core.market.series import CandleSeries
from tools.grid_execution import MapPoints, candle_seconds, evaluate_points
from tools.metrics import PerformanceMetrics
from tools.strategies import get_strategy
from tools.strategies.base import StrategyParams
from tools.vector_backtest import BacktestCosts

MAX_GRID_POINTS = 400
"""Combinations of a grid (valid or not): 400 points over a year of hourly candles is a few
seconds of work, where a grid without bound could run for hours."""

ParamValue = bool | int | float | str | None
"""A parameter's value; None where a parameter is optional and off (momentum's trend_period)."""
Objective = Literal["sharpe", "sortino", "calmar", "total_return"]
OBJECTIVES: tuple[Objective, ...] = ("sharpe", "sortino", "calmar", "total_return")

_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ParameterGrid(BaseModel):
    """Candidate values per parameter of one strategy; parameters not named keep their
    defaults. The points are the combinations, in the order the values are given."""

    model_config = _FROZEN

    strategy: str = Field(min_length=1, max_length=64, description="a registered strategy")
    values: dict[str, tuple[ParamValue, ...]] = Field(
        default_factory=dict, description="parameter name -> the values to try"
    )

    @model_validator(mode="after")
    def _checked(self) -> Self:
        strategy = get_strategy(self.strategy)
        fields = strategy.params.model_fields
        for name, candidates in self.values.items():
            if name not in fields:
                known = ", ".join(fields)
                raise ValueError(f"{self.strategy} has no parameter {name!r}: use {known}")
            if not candidates:
                raise ValueError(f"{name} has no values: give at least one")
            checked = [_checked_value(self.strategy, name, value) for value in candidates]
            if len(set(checked)) != len(checked):
                raise ValueError(f"{name} lists a value twice: give each value once")
        size = self.size
        if size > MAX_GRID_POINTS:
            raise ValueError(
                f"the grid has {size} combinations, more than {MAX_GRID_POINTS}: give fewer values"
            )
        return self

    @property
    def size(self) -> int:
        """How many combinations, valid or not."""
        return math.prod(len(candidates) for candidates in self.values.values())

    def points(self) -> GridPoints:
        """The valid combinations as the strategy's parameters, and how many were skipped."""
        params = get_strategy(self.strategy).params
        names = list(self.values)
        valid: list[StrategyParams] = []
        skipped = 0
        for combination in itertools.product(*self.values.values()):
            try:
                valid.append(params.model_validate(dict(zip(names, combination, strict=True))))
            except ValidationError as exc:
                _raise_for_a_field(self.strategy, exc)
                skipped += 1
        if not valid:
            raise ValueError(
                f"none of the {skipped} combinations is valid for {self.strategy}: "
                "check the values against each other (e.g. fast below slow)"
            )
        return GridPoints(params=tuple(valid), skipped=skipped)


def _checked_value(strategy: str, name: str, value: ParamValue) -> ParamValue:
    """`value` as the parameter's own field validates it, or a ValueError with its bound."""
    field = get_strategy(strategy).params.model_fields[name]
    bounded: Any = (
        Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    )
    adapter: TypeAdapter[ParamValue] = TypeAdapter(bounded)
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise ValueError(f"{strategy} {name}={value!r} is out of bounds: {reason}") from None


def _raise_for_a_field(strategy: str, exc: ValidationError) -> None:
    """A value a field refuses is a mistake; only the model's check of the whole is a skip."""
    for error in exc.errors():
        if error["loc"]:
            name = ".".join(str(part) for part in error["loc"])
            raise ValueError(f"{strategy} {name}: {error['msg']}") from None


@dataclass(frozen=True)
class GridPoints:
    params: tuple[StrategyParams, ...]
    skipped: int


def objective_value(metrics: PerformanceMetrics, objective: Objective) -> float:
    """The figure a point is ranked by (an annualized one left out counts as 0)."""
    value = getattr(metrics, objective)
    return 0.0 if value is None else float(value)


def best_index(scores: list[float]) -> int:
    """The highest score; on a tie, the point that comes first in the grid."""
    return min(range(len(scores)), key=lambda i: (-scores[i], i))


class Window(BaseModel):
    """Candles [start, stop) of the series, and the open times of the first and last."""

    model_config = _FROZEN

    start: int = Field(ge=0, description="index of the first candle")
    stop: int = Field(ge=1, description="index after the last candle")
    first_ts: int = Field(description="open time of the first candle, ms UTC")
    last_ts: int = Field(description="open time of the last candle, ms UTC")

    @classmethod
    def of(cls, series: CandleSeries, start: int, stop: int) -> Window:
        return cls(
            start=start, stop=stop, first_ts=int(series.ts[start]), last_ts=int(series.ts[stop - 1])
        )


class GridPoint(BaseModel):
    """One point's parameters (all of them, defaults included), score and metrics."""

    model_config = _FROZEN

    params: dict[str, ParamValue]
    score: float
    metrics: PerformanceMetrics


class GridResult(BaseModel):
    """Every valid point on the window, best first."""

    model_config = _FROZEN

    strategy: str
    objective: Objective
    window: Window
    points: tuple[GridPoint, ...]
    skipped: int = Field(description="combinations the strategy refused as a whole")

    @property
    def best(self) -> GridPoint:
        return self.points[0]


def grid_search(
    series: CandleSeries,
    grid: ParameterGrid,
    costs: BacktestCosts | None = None,
    objective: Objective = "sharpe",
    *,
    partner: CandleSeries | None = None,
    period_seconds: float | None = None,
    map_points: MapPoints | None = None,
) -> GridResult:
    """Every point of `grid` traded over the whole of `series`, ranked by `objective` (ties
    go to the point given first). `period_seconds` defaults to the median candle spacing;
    `map_points` defaults to this process for small grids and local processes otherwise."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: use one of {', '.join(OBJECTIVES)}")
    period = period_seconds if period_seconds is not None else candle_seconds(series)
    points = grid.points()
    rows = evaluate_points(
        series, partner, grid.strategy, points.params, [(0, len(series))],
        costs or BacktestCosts(), period, map_points,
    )  # fmt: skip
    scores = [objective_value(row[0], objective) for row in rows]
    order = sorted(range(len(rows)), key=lambda i: (-scores[i], i))
    return GridResult(
        strategy=grid.strategy,
        objective=objective,
        window=Window.of(series, 0, len(series)),
        points=tuple(
            GridPoint(params=points.params[i].model_dump(), score=scores[i], metrics=rows[i][0])
            for i in order
        ),
        skipped=points.skipped,
    )
