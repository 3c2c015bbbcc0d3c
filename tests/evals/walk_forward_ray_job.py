"""A grid search and a walk-forward whose batches run on a private local Ray instance; the
Ray test runs this inside its private network namespace and compares with the local result.

    python walk_forward_ray_job.py RESULT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.market.synthetic import generate_synthetic
from tools.grid import ParameterGrid, grid_search
from tools.grid_execution import MapPoints
from tools.vector_backtest import BacktestCosts
from tools.walk_forward import walk_forward

GRID = ParameterGrid(
    strategy="ma_crossover",
    values={"fast": [3, 5, 8, 12, 16, 20], "slow": [25, 40, 60, 90, 130]},
)
"""30 points: three batches, so the order the results come back in matters."""
COSTS = BacktestCosts(slippage_bps=3.0)


def results(map_points: MapPoints) -> dict[str, str]:
    """Both runs as JSON, every batch through `map_points`."""
    series = generate_synthetic(7, bars=1_600)
    walked = walk_forward(
        series, GRID, COSTS, in_sample=400, out_of_sample=200, map_points=map_points
    )
    searched = grid_search(series, GRID, COSTS, "sortino", map_points=map_points)
    return {"walk_forward": walked.model_dump_json(), "grid_search": searched.model_dump_json()}


def main(result_path: str) -> None:
    from evals.walk_forward_ray import ray_points

    with ray_points("local") as map_points:
        Path(result_path).write_text(json.dumps(results(map_points)))


if __name__ == "__main__":
    main(sys.argv[1])
