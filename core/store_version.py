"""Whether SQLite files changed since last asked, in microseconds: their version stamps.

A server answering the same reads again and again keeps its answers while the stores they
were read from are unchanged (`api.server.fresh`). SQLite counts the commits of every other
connection, in this process or another (`PRAGMA data_version`), so a read-only connection
kept open on each file tells, without reading a row, whether anything was written since:
a trace, a fill, a halt. A file replaced whole (a restore) is opened again (its inode moved).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

Stamp = tuple[tuple[int, int, int], ...]
"""For each file: (its inode, the connection's generation, its data version); (0, 0, 0) while
the file does not exist."""
_ABSENT = (0, 0, 0)


class SqliteVersions:
    """The version stamp of some SQLite files: equal stamps mean no commit in between.
    Thread-safe. A file that is busy (a writer holds it in rollback mode) gives no stamp."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        self._lock = threading.Lock()
        self._open: dict[Path, tuple[int, int, sqlite3.Connection]] = {}
        self._generation = 0

    def stamp(self) -> Stamp | None:
        """The files' stamp now; None when one cannot be read at once (busy, unreadable)."""
        with self._lock:
            try:
                return tuple(self._version(path) for path in self.paths)
            except (OSError, sqlite3.Error):
                return None

    def close(self) -> None:
        with self._lock:
            for _, _, connection in self._open.values():
                connection.close()
            self._open.clear()

    def _version(self, path: Path) -> tuple[int, int, int]:
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            self._drop(path)
            return _ABSENT
        opened = self._open.get(path)
        if opened is None or opened[0] != inode:
            self._drop(path)
            connection = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=0, check_same_thread=False
            )
            self._generation += 1
            self._open[path] = opened = (inode, self._generation, connection)
        (version,) = opened[2].execute("PRAGMA data_version").fetchone()
        return inode, opened[1], int(version)

    def _drop(self, path: Path) -> None:
        dropped = self._open.pop(path, None)
        if dropped is not None:
            dropped[2].close()
