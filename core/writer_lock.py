"""One writer per data directory: an exclusive lock held for as long as a process writes.

Two runs writing one embedded Chroma store corrupt it for good, so every process that writes
the data directory's stores (a run, an evaluation, `audit prune`) holds `writer.lock` first.
The kernel releases the lock when its holder exits, however it exits (a SIGKILL too), so a
lock is never stale. Readers (`audit verify`, `risk status`) and the kill switch (`risk halt`,
`risk resume`, which must work while a run trades) do not take it.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from core.errors import UserError

LOCK_NAME = "writer.lock"
_HELD: dict[Path, int] = {}
"""The data directories whose lock is held now, by the pid that took it (a forked child
inherits this table, not the lock's ownership)."""


class DataDirInUseError(UserError):
    """Another process is writing this data directory."""


@contextmanager
def writer_lock(root: Path, command: str | None = None) -> Iterator[None]:
    """Hold the data directory's writer lock for the block; DataDirInUseError naming the
    holder (pid and command) at once when another process holds it."""
    path = Path(root) / LOCK_NAME
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed in finally
    except OSError as exc:
        raise UserError(f"cannot open {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirInUseError(_in_use(root, handle)) from None
        _write_holder(handle, command)
        _HELD[_key(root)] = os.getpid()
        try:
            yield
        finally:
            _HELD.pop(_key(root), None)
    finally:
        handle.close()  # closing the file releases the lock


def held_here(root: Path) -> bool:
    """Whether this process holds `root`'s writer lock now: only the writer may repair what
    the data directory's stores hold (a reader never changes them)."""
    return _HELD.get(_key(root)) == os.getpid()


def _key(root: Path) -> Path:
    return Path(root).expanduser().resolve()


def _write_holder(handle: IO[str], command: str | None) -> None:
    """Who holds the lock, for the message a second writer gets."""
    holder = {
        "pid": os.getpid(),
        "command": command or _command_line(),
        "since": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(holder))
    handle.flush()


def _in_use(root: Path, handle: IO[str]) -> str:
    handle.seek(0)
    try:
        holder = json.loads(handle.read() or "{}")
    except ValueError:
        holder = {}
    pid = holder.get("pid", "?") if isinstance(holder, dict) else "?"
    command = holder.get("command", "?") if isinstance(holder, dict) else "?"
    since = holder.get("since", "?") if isinstance(holder, dict) else "?"
    command = "".join(c for c in str(command) if c.isprintable())
    return (
        f"data directory {root} is in use by pid {pid} ({command}, since {since}): one process "
        "writes a data directory at a time; wait for it, stop it, or give another --data-dir"
    )


def _command_line() -> str:
    """The command as typed, shortened; argv holds no secret (keys come from the environment)."""
    words = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else ["python"]
    line = " ".join(words)
    return line if len(line) <= 160 else line[:157] + "..."
