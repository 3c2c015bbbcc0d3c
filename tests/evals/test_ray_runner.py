"""The Ray runner without a cluster: what it refuses before starting anything, and how it
collects finished tasks, writes their reports and cancels the rest on Ctrl-C."""

import socket
import sys
import time
import types

import pytest

from core.errors import UserError
from evals import ray_runner
from evals.ray_runner import INSTALL, collect, head_of, import_ray
from evals.suite import SuiteJob
from tests.cli import assert_one_line_error, tradegraph

SUITE = '[defaults]\nbars = 50\n[[markets]]\nmarket = "synthetic:1"\n'


def _job(name: str) -> SuiteJob:
    return SuiteJob(label=f"{name}/default", market_label=name, config="default", options={})


def _report(name: str) -> dict:
    return {"label": f"{name}/default", "market": name, "config": "default", "folder": "",
            "report": {"determinism": {"trace_root_hash": name}}}  # fmt: skip


class FakeTasks:
    """Tasks that finish in a given order; `interrupt_after` finished ones, Ctrl-C."""

    def __init__(self, results: dict, order: list, interrupt_after: int | None = None):
        self.results, self.order, self.interrupt_after = results, list(order), interrupt_after
        self.cancelled: list = []
        self.done = 0

    def wait(self, refs, timeout):
        if self.done == self.interrupt_after:
            raise KeyboardInterrupt
        ref = self.order.pop(0)
        assert ref in refs
        self.done += 1
        return [ref]

    def get(self, ref):
        result = self.results[ref]
        if isinstance(result, BaseException):
            raise result
        return result

    def cancel(self, ref):
        self.cancelled.append(ref)


def test_finished_jobs_are_written_by_the_driver_in_the_order_they_finish(tmp_path):
    jobs = {"a": _job("a"), "b": _job("b")}
    results = {k: (_report(k), {"report.json": f"{{{k}}}", "report.html": k}) for k in jobs}
    finished = []

    rows, partial = collect(
        FakeTasks(results, ["b", "a"]), jobs, tmp_path, lambda: finished.append(1)
    )

    assert partial is False and [r["label"] for r in rows] == ["b/default", "a/default"]
    assert len(finished) == 2
    assert (tmp_path / "a" / "default" / "report.json").read_text() == "{a}"
    assert rows[0]["folder"] == str(tmp_path / "b" / "default")


def test_ctrl_c_cancels_the_unfinished_tasks_and_keeps_the_finished_rows(tmp_path):
    jobs = {k: _job(k) for k in "abc"}
    results = {k: (_report(k), {"report.json": k}) for k in jobs}
    tasks = FakeTasks(results, ["a", "b", "c"], interrupt_after=1)

    rows, partial = collect(tasks, jobs, tmp_path)

    assert partial is True
    assert [r["label"] for r in rows] == ["a/default"]
    assert sorted(tasks.cancelled) == ["b", "c"]
    assert (tmp_path / "a" / "default" / "report.json").is_file()
    assert not (tmp_path / "b").exists()


def test_a_task_that_died_is_a_row_with_a_one_line_error(tmp_path):
    died = RuntimeError("The worker died unexpectedly.\n  Traceback (most recent call last):\n  x")
    failed = ({"label": "b/default", "market": "b", "config": "default", "error": "bad"}, {})
    tasks = FakeTasks({"a": died, "b": failed}, ["a", "b"])

    rows, partial = collect(tasks, {"a": _job("a"), "b": _job("b")}, tmp_path)

    assert not partial
    assert rows[0]["error"] == "RuntimeError: The worker died unexpectedly."
    assert rows[1]["error"] == "bad" and not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1:6379", ("127.0.0.1", 6379)), ("ray://head:10001", ("head", 10001)),
     ("[::1]:6380", ("::1", 6380))],
)  # fmt: skip
def test_a_cluster_address_is_host_and_port(address, expected):
    assert head_of(address) == expected


@pytest.mark.parametrize("address", ["head", "head:", "head:port", ":6379", "head:70000"])
def test_an_address_without_a_port_is_refused(address):
    with pytest.raises(UserError, match="HOST:PORT"):
        head_of(address)


def test_without_ray_the_flag_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError

    with pytest.raises(UserError) as raised:
        import_ray()

    assert str(raised.value) == INSTALL and "pip install 'tradegraph[ray]'" in INSTALL


def test_without_ray_the_command_is_one_line(tmp_path):
    shadow = tmp_path / "shadow" / "ray"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)

    result = tradegraph(
        "eval", "--suite", str(suite), "--ray", "local", env={"PYTHONPATH": str(shadow.parent)}
    )

    assert_one_line_error(result, "--ray needs Ray: pip install 'tradegraph[ray]'")


def test_a_ray_older_than_supported_is_refused_with_the_version_it_needs(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(__version__="2.9.3"))

    with pytest.raises(UserError, match=r"needs Ray 2\.60 or newer, this is Ray 2\.9\.3"):
        import_ray()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_cluster_is_one_line_quickly(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    address = f"127.0.0.1:{_closed_port()}"

    started = time.monotonic()
    result = tradegraph(
        "eval", "--suite", str(suite), "--ray", address, "--out", str(tmp_path / "o")
    )

    assert_one_line_error(result, f"no Ray cluster answers at {address}")
    assert time.monotonic() - started < 10
    assert not (tmp_path / "o").exists()


def test_an_address_that_does_not_answer_in_time_is_refused(monkeypatch):
    def silent(address, timeout):
        assert timeout == ray_runner.PROBE_SECONDS
        raise TimeoutError

    monkeypatch.setattr(ray_runner.socket, "create_connection", silent)

    with pytest.raises(UserError, match=r"no Ray cluster answers at 10\.0\.0\.9:6379"):
        ray_runner.check_reachable("10.0.0.9:6379")


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [(("--ray", "local", "--workers", "2"), "drop one of them"), (("--ray", "local"), "--suite")],
)
def test_ray_with_local_workers_or_without_a_suite_is_refused(tmp_path, flags, fragment):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    given = ("--suite", str(suite), *flags) if "--workers" in flags else flags

    assert_one_line_error(tradegraph("eval", *given), fragment)
