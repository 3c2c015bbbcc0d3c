"""One writer per data directory: the second is refused at once, naming the first."""

import os
import signal
import subprocess
import sys
import time

import pytest

from core.writer_lock import LOCK_NAME, DataDirInUseError, held_here, writer_lock

HOLD = """
import sys, time
from pathlib import Path
from core.writer_lock import writer_lock
with writer_lock(Path(sys.argv[1]), "tradegraph run --market synthetic:7"):
    print("held", flush=True)
    time.sleep(60)
"""


def holder(root):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    process = holder(tmp_path)
    try:
        with pytest.raises(DataDirInUseError) as refused, writer_lock(tmp_path):
            pass
    finally:
        process.kill()
        process.wait()

    message = str(refused.value)
    assert f"in use by pid {process.pid} (tradegraph run --market synthetic:7" in message
    assert "--data-dir" in message


def test_the_lock_is_free_again_when_its_holder_is_killed(tmp_path):
    process = holder(tmp_path)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    with writer_lock(tmp_path, "next"):
        held_by = (tmp_path / LOCK_NAME).read_text()

    assert f'"pid": {os.getpid()}' in held_by


def test_the_same_process_can_write_again_after_releasing(tmp_path):
    with writer_lock(tmp_path):
        pass
    started = time.perf_counter()

    with writer_lock(tmp_path):
        pass

    assert time.perf_counter() - started < 1.0


def test_held_here_is_true_only_inside_this_process_s_lock(tmp_path):
    before = held_here(tmp_path)

    with writer_lock(tmp_path):
        inside = held_here(tmp_path / "." / "")

    assert (before, inside, held_here(tmp_path)) == (False, True, False)
