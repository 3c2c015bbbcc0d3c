"""Grid search and walk-forward on Ray: the batches of grid points become Ray tasks, on an
existing cluster (`HOST:PORT`) or a private local instance (`local`), connected through the
suite's `ray_cluster`, so the address rules, the version check and the one-line errors are
the same as for `tradegraph eval --ray`.

    with ray_points("local") as map_points:
        result = walk_forward(series, grid, in_sample=2160, out_of_sample=720,
                              map_points=map_points)

Each batch carries its candles, so workers need the package but no shared filesystem; the
results come back in batch order, so they equal the local run to the bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from evals.ray_runner import WAIT_SECONDS, ray_cluster
from tools.grid_execution import BatchScores, MapPoints, PointBatch


@contextmanager
def ray_points(address: str) -> Iterator[MapPoints]:
    """A map that runs every batch as a Ray task, while connected to `address`."""
    with ray_cluster(address) as cluster:
        yield partial(map_on_ray, cluster.ray)


def map_on_ray(
    ray: Any, evaluate: Callable[[PointBatch], BatchScores], batches: Sequence[PointBatch]
) -> list[BatchScores]:
    """Every batch a task; their results in the batches' order. Ctrl-C cancels the tasks."""
    task = ray.remote(num_cpus=1)(evaluate)
    refs = [task.remote(batch) for batch in batches]
    try:
        waiting = list(refs)
        while waiting:  # ray.wait returns often, so Ctrl-C is seen promptly
            _, waiting = ray.wait(waiting, num_returns=len(waiting), timeout=WAIT_SECONDS)
        return list(ray.get(refs))
    except KeyboardInterrupt:
        for ref in refs:
            ray.cancel(ref)
        raise
