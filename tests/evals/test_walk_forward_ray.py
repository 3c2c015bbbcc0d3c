"""Grid search and walk-forward on Ray give exactly the local result: the batches run as tasks
on a private local Ray instance, started inside a private network namespace
(`ray_scenario.py`) by `walk_forward_ray_job.py`. The map's order and Ctrl-C are checked on a
fake Ray first."""

import json
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from evals.walk_forward_ray import map_on_ray
from tests.evals.ray_scenario import environment, namespaces_allowed, run_in_namespace
from tests.evals.walk_forward_ray_job import results
from tools.grid_execution import in_process

JOB = Path(__file__).resolve().parent / "walk_forward_ray_job.py"
ROOT = Path(__file__).resolve().parents[2]


class FakeRay:
    """Tasks that finish in reverse order, or a Ctrl-C while waiting for them."""

    def __init__(self, interrupt: bool = False):
        self.interrupt, self.cancelled = interrupt, []

    def remote(self, num_cpus):
        return lambda evaluate: SimpleNamespace(remote=lambda batch: (batch, evaluate(batch)))

    def wait(self, refs, num_returns, timeout):
        if self.interrupt:
            raise KeyboardInterrupt
        return refs[::-1], []

    def get(self, refs):
        return [value for _, value in refs]

    def cancel(self, ref):
        self.cancelled.append(ref[0])


def test_the_results_come_back_in_the_batches_order():
    assert map_on_ray(FakeRay(), lambda batch: [[batch]], ["a", "b", "c"]) == [
        [["a"]], [["b"]], [["c"]]
    ]  # fmt: skip


def test_ctrl_c_cancels_every_task():
    ray = FakeRay(interrupt=True)

    with pytest.raises(KeyboardInterrupt):
        map_on_ray(ray, lambda batch: [[batch]], ["a", "b"])

    assert ray.cancelled == ["a", "b"]


@pytest.mark.slow
@pytest.mark.xdist_group("ray-cluster")
def test_the_grid_on_ray_gives_exactly_the_local_result(tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed: uv sync --extra ray")
    why = namespaces_allowed()
    if why is not None:
        pytest.skip(why)
    ray_tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    env = environment(ray_tmp) | {"PYTHONPATH": str(ROOT)}  # workers import this checkout
    out = tmp_path / "on_ray.json"
    try:
        [step] = run_in_namespace(tmp_path, env, [{"args": [sys.executable, str(JOB), str(out)]}])
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert step["code"] == 0, step["stderr"]

    on_ray, local = json.loads(out.read_text()), results(in_process)

    assert on_ray == local
    assert len(json.loads(local["walk_forward"])["folds"]) == 6
