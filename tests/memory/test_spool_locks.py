"""Stale spool lock files are cleaned up: a lock left by a process that died (killed before it
could release it) goes at the next open; a live owner's lock, or one beside spooled traces,
stays."""

import subprocess
import sys

from memory.spool import TraceSpool, pending_spools, remove_stale_locks


def test_a_lock_left_by_a_killed_process_is_removed_on_the_next_open(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from pathlib import Path; from memory.spool import TraceSpool;"
         f"s = TraceSpool(Path({str(tmp_path)!r}), 'killed');"
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    assert remove_stale_locks(tmp_path) == []  # its owner is alive: kept
    holder.kill()
    holder.wait()
    assert (tmp_path / "traces-killed.lock").exists()

    assert pending_spools(tmp_path) == []

    assert not (tmp_path / "traces-killed.lock").exists()


def test_a_live_owners_lock_and_a_lock_beside_spooled_traces_stay(tmp_path):
    live = TraceSpool(tmp_path, "live")
    (tmp_path / "traces-crashed.lock").touch()
    (tmp_path / "traces-crashed.jsonl").write_text("")

    assert remove_stale_locks(tmp_path) == []

    assert (tmp_path / "traces-live.lock").exists()
    assert (tmp_path / "traces-crashed.lock").exists()
    live.release()
    assert not (tmp_path / "traces-live.lock").exists()
