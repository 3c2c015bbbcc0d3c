"""Two runs on one data directory: the second is refused, the store stays whole."""

import json
import subprocess
import time

import pytest

from tests.cli import TRADEGRAPH, assert_one_line_error, tradegraph


@pytest.mark.slow
def test_a_second_run_on_one_data_dir_is_refused_and_the_store_stays_intact(tmp_path):
    data = str(tmp_path)
    run = ("run", "--analyst", "offline", "--market", "synthetic:7", "-q", "--data-dir", data)
    first = subprocess.Popen(
        [str(TRADEGRAPH), *run, "--bars", "1000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    lock = tmp_path / "writer.lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and f'"pid": {first.pid}' not in _text(lock):
        time.sleep(0.05)

    second = tradegraph(*run, "--bars", "100")
    first.communicate(timeout=600)
    later = tradegraph(*run, "--bars", "200", "--json", str(tmp_path / "later.json"))
    verified = tradegraph("audit", "verify", "--data-dir", data)

    assert_one_line_error(second, f"in use by pid {first.pid}", "tradegraph run")
    assert first.returncode == 0
    assert later.returncode == 0, later.stderr
    assert json.loads((tmp_path / "later.json").read_text())["decisions"] == 200
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _text(path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
