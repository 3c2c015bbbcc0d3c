"""Suites on real Ray, each start inside a private network namespace (`ray_scenario.py`):
a head started with `ray start`, then `--ray 127.0.0.1:PORT`, Ctrl-C on it, and `--ray local`,
all compared with the same suite on one local process.

One scenario per session (one head, about a minute on two cores); the tests read what it did.
"""

import fcntl
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.cli import TRADEGRAPH
from tests.conftest import SHARED
from tests.evals.ray_scenario import BIN, environment, namespaces_allowed, run_in_namespace

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray-cluster")]

PORT = 6390
"""Free in the test's own network namespace, whatever the host runs."""
BTC_2023 = SHARED / "markets" / "binance-2023"
MISSING = "no-such-recording/BTC_USDT-1h.csv.gz"
QUICK = "synthetic_1-60"


def _suite(recorded: bool) -> str:
    first = (
        f'market = "{BTC_2023}"\nsymbol = "BTC/USDT"\ntimeframe = "1h"'
        if recorded
        else 'market = "synthetic:5"'
    )
    return (
        '[suite]\nname = "ray"\n[defaults]\nbars = 300\n'
        f"[[markets]]\n{first}\n"
        '[[markets]]\nmarket = "synthetic:7"\n'
        f'[[markets]]\nmarket = "{MISSING}"\n'
    )


INTERRUPTED_SUITE = (
    '[suite]\nname = "interrupted"\n'
    '[[markets]]\nmarket = "synthetic:1"\nbars = 60\n'
    '[[markets]]\nmarket = "synthetic:2"\nbars = 6000\n'
    '[[markets]]\nmarket = "synthetic:3"\nbars = 6000\n'
    '[[markets]]\nmarket = "synthetic:4"\nbars = 6000\n'
)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, worker_id):
    """What every step did, run once per session: a module fixture would run on each xdist
    worker that gets one of these tests, so the workers share one run through a lock."""
    pytest.importorskip("ray", reason="the ray extra is not installed: uv sync --extra ray")
    why = namespaces_allowed()
    if why is not None:
        pytest.skip(why)
    if worker_id == "master":
        return _run_scenario(tmp_path_factory.mktemp("ray"))
    shared = tmp_path_factory.getbasetemp().parent  # this session's, seen by every worker
    done = shared / "ray-scenario.json"
    with (shared / "ray-scenario.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            done.write_text(json.dumps(_run_scenario(shared / "ray-scenario")))
    return json.loads(done.read_text())


def _run_scenario(base: Path) -> dict:
    base.mkdir(parents=True, exist_ok=True)
    suite = base / "suite.toml"
    suite.write_text(_suite(BTC_2023.is_dir()))
    interrupted = base / "interrupted.toml"
    interrupted.write_text(INTERRUPTED_SUITE)
    ray_tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    env = environment(ray_tmp)
    tg, ray = str(TRADEGRAPH), str(BIN / "ray")
    address = f"127.0.0.1:{PORT}"
    steps = [
        {"args": [tg, "eval", "--suite", str(suite), "--workers", "1", "--out",
                  str(base / "local"), "-q"]},
        {"args": [ray, "start", "--head", "--port", str(PORT), "--num-cpus", "2",
                  "--node-ip-address", "127.0.0.1", "--disable-usage-stats",
                  "--include-dashboard=false"]},
        {"args": [tg, "eval", "--suite", str(suite), "--ray", address, "--out",
                  str(base / "cluster"), "-q"]},
        {"args": [tg, "eval", "--suite", str(interrupted), "--ray", address, "--out",
                  str(base / "interrupted"), "-q"],
         "interrupt_when": str(base / "interrupted" / QUICK / "default" / "report.html")},
        {"args": [ray, "stop", "--force"]},  # the PID namespace ends the rest
        {"args": [tg, "eval", "--suite", str(suite), "--ray", "local", "--out",
                  str(base / "private"), "-q"]},
    ]  # fmt: skip
    try:
        results = run_in_namespace(base, env, steps)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    local, start, cluster, stopped, _, private = results
    assert start["code"] == 0, start["stderr"]
    return {"base": str(base), "local": local, "cluster": cluster, "interrupted": stopped,
            "private": private}  # fmt: skip


def _rows(folder: Path) -> dict[str, dict]:
    combined = json.loads((folder / "suite.json").read_text())
    return {row["label"]: row for row in combined["rows"]}


def _assert_same_reports(local: dict[str, dict], other: dict[str, dict]) -> None:
    assert set(other) == set(local)
    for label, row in local.items():
        if "error" in row:
            continue
        mine = other[label]["report"]
        assert mine["determinism"] == row["report"]["determinism"], label
        assert mine["market"] == row["report"]["market"], label
        assert mine["metrics"] == row["report"]["metrics"], label


def test_a_suite_on_a_ray_cluster_matches_the_local_run(scenario):
    base, cluster = Path(scenario["base"]), scenario["cluster"]
    assert scenario["local"]["code"] == 1, scenario["local"]["stderr"]  # the missing market
    assert cluster["code"] == 1, cluster["stderr"]
    assert f"on Ray at 127.0.0.1:{PORT}" in cluster["stdout"]
    local, on_ray = _rows(base / "local"), _rows(base / "cluster")

    _assert_same_reports(local, on_ray)

    for label, row in on_ray.items():
        if "error" in row:
            continue
        folder = base / "cluster" / label
        assert row["folder"] == str(folder)  # the driver wrote every report
        assert sorted(p.name for p in folder.iterdir()) == [
            "report.html", "report.json", "trades.csv"
        ]  # fmt: skip
        written = json.loads((folder / "report.json").read_text())
        assert len(written.pop("series")["agent"]) == row["report"]["market"]["bars"]
        assert written == row["report"]  # suite.json keeps all but the per-candle series


def test_a_failed_job_on_ray_is_a_row_with_its_one_line_error(scenario):
    base = Path(scenario["base"])
    local, on_ray = _rows(base / "local"), _rows(base / "cluster")

    [failed] = [row for row in on_ray.values() if "error" in row]

    assert MISSING in failed["error"] and "\n" not in failed["error"]
    assert failed["error"] == local[failed["label"]]["error"]
    assert f"failed {failed['label']}: " in scenario["cluster"]["stdout"]


def test_ctrl_c_on_ray_cancels_the_rest_and_keeps_the_finished_rows(scenario):
    stopped = scenario["interrupted"]
    assert stopped["interrupted"], stopped["stderr"]
    assert stopped["code"] == 130, stopped["stderr"]
    combined = json.loads((Path(scenario["base"]) / "interrupted" / "suite.json").read_text())

    assert combined["partial"] is True and combined["jobs"] == 4
    assert [row["label"] for row in combined["rows"]] == [f"{QUICK}/default"]
    assert "interrupted" in stopped["stdout"]
    assert stopped["seconds"] < 60  # the 6,000-candle jobs were cancelled, not waited for


def test_ray_local_runs_the_suite_on_a_private_instance_like_the_local_run(scenario):
    private = scenario["private"]
    assert private["code"] == 1, private["stderr"]
    assert "on a private local Ray instance" in private["stdout"]

    base = Path(scenario["base"])
    _assert_same_reports(_rows(base / "local"), _rows(base / "private"))
