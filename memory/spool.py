"""The local spool: sealed traces that the trace store could not take, kept until it can.

One append-only JSON-lines file per run under `DATA_DIR/spool/`. Every write is flushed and
fsynced before the cycle goes on, so a crash while the store is down loses no trace; the
traces are already sealed onto the chain, so flushing them later leaves the chain intact.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from core.types import Trace

try:
    import fcntl
except ImportError:  # not on Windows: one process per data directory there
    fcntl = None  # type: ignore[assignment]


class SpoolBusyError(Exception):
    """Another live process owns this run's spool."""


class TraceSpool:
    """A run's spool, owned by one process at a time (an exclusive lock on a side file), so
    a run opening the store never flushes the spool of a run that is still going."""

    def __init__(self, folder: Path, run_id: str) -> None:
        self.path = folder / f"traces-{run_id}.jsonl"
        self._lock = _claim(folder / f"traces-{run_id}.lock")
        self.count = sum(1 for _ in self._lines()) if self.path.is_file() else 0

    def append(self, traces: list[Trace]) -> None:
        if not traces:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(t.model_dump_json() + "\n" for t in traces)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        self.count += len(traces)

    def read(self) -> list[Trace]:
        """The spooled traces in the order they were written. A torn last line (a crash in the
        middle of a write, before the write was acknowledged) is skipped."""
        traces = []
        for line in self._lines():
            try:
                traces.append(Trace.model_validate_json(line))
            except ValueError:
                continue
        return traces

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.count = 0

    def release(self) -> None:
        """Give up ownership (the process is done with this run); an empty spool leaves no
        lock file behind."""
        if self._lock is None:
            return
        if not self.path.exists():
            Path(self._lock.name).unlink(missing_ok=True)
        self._lock.close()
        self._lock = None

    def _lines(self) -> list[str]:
        return [line for line in self.path.read_text(encoding="utf-8").splitlines() if line]


def _claim(path: Path) -> IO[str] | None:
    if fcntl is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise SpoolBusyError(str(path)) from None
    return handle


def pending_spools(folder: Path) -> list[str]:
    """Run ids with spooled traces left by an earlier process (to flush at start); lock files
    that dead processes left behind are removed on the way."""
    if not folder.is_dir():
        return []
    remove_stale_locks(folder)
    return sorted(p.name[len("traces-") : -len(".jsonl")] for p in folder.glob("traces-*.jsonl"))


def remove_stale_locks(folder: Path) -> list[str]:
    """Remove the lock files of spools that hold nothing and whose owner is gone (a process
    killed before it could release its lock); the run ids whose locks went. A lock a live
    process holds, or one beside spooled traces (its next owner flushes them), stays."""
    if fcntl is None or not folder.is_dir():
        return []
    removed = []
    for lock in sorted(folder.glob("traces-*.lock")):
        run_id = lock.name[len("traces-") : -len(".lock")]
        if (folder / f"traces-{run_id}.jsonl").exists():
            continue
        try:
            handle = _claim(lock)
        except (SpoolBusyError, OSError):
            continue  # its owner is alive (or the file went meanwhile)
        try:
            if not (folder / f"traces-{run_id}.jsonl").exists():
                lock.unlink(missing_ok=True)  # unlinked while held: no one claims it meanwhile
                removed.append(run_id)
        finally:
            if handle is not None:
                handle.close()
    return removed
