"""An append-only log of JSON lines, each carrying the sha256 of the line before it.

Shared by records that must be tamper-evident outside the stores they describe (the run
registry). An append holds an exclusive lock on the file (two processes never chain onto the
same line) and is fsynced before it returns. Readers take no lock: a torn last line (an append
that a crash cut short, or one still being written) is not part of the chain, since nothing was
acknowledged for it; the next append drops it. A line edited, removed or inserted anywhere
before the last breaks the chain at that line.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from core.errors import UserError
from core.types import canonical_json

GENESIS = "0" * 64
"""The `prev` of the first line."""
TAIL_BYTES = 65_536
"""How much of the end of the file an append reads to find the line it chains onto."""


class ChainedLogBrokenError(UserError):
    """A line of the log does not verify: it was edited, removed, inserted or damaged."""

    def __init__(self, path: Path, line: int, why: str) -> None:
        super().__init__(f"{path} is broken at line {line} ({why})")
        self.path = path
        self.line = line
        self.why = why


def digest(entry: dict[str, Any]) -> str:
    """The sha256 of an entry's canonical JSON, without its own `hash`."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


class ChainedLog:
    """A file of hash-chained JSON objects: `seq`, `prev` and `hash` are the log's own keys."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> list[dict[str, Any]]:
        """Every entry, verified; ChainedLogBrokenError naming the first line that is not."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise UserError(f"cannot read {self.path}: {exc.strerror}") from None
        lines = data.split(b"\n")[:-1]  # after the last newline: a torn line, not yet logged
        entries: list[dict[str, Any]] = []
        prev = GENESIS
        for number, line in enumerate(lines, start=1):
            entry = _parse(line)
            if entry is None:
                raise ChainedLogBrokenError(self.path, number, "it is not a JSON object")
            if entry.get("seq") != len(entries) or entry.get("prev") != prev:
                raise ChainedLogBrokenError(
                    self.path, number, "it does not link to the line before it"
                )
            if entry.get("hash") != digest(entry):
                raise ChainedLogBrokenError(
                    self.path, number, "its content does not match its hash (edited)"
                )
            entries.append(entry)
            prev = str(entry["hash"])
        return entries

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Chain `record` onto the last line and write it durably; the entry written. Only
        the tail is read: a broken log is appended to all the same (the record is kept), and
        verification reports the break."""
        with self._locked() as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read()
            torn = len(tail) - (tail.rfind(b"\n") + 1)
            last = _last_entry(tail[: len(tail) - torn])
            entry = {
                **record,
                "seq": int(last["seq"]) + 1 if last else 0,
                "prev": str(last["hash"]) if last else GENESIS,
            }
            entry["hash"] = digest(entry)
            if torn:
                handle.truncate(size - torn)
            handle.seek(0, os.SEEK_END)
            handle.write((canonical_json(entry) + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())
            return entry

    def _locked(self) -> contextlib.AbstractContextManager[IO[bytes]]:
        return locked_for_append(self.path, f"cannot write {self.path}")


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _last_entry(data: bytes) -> dict[str, Any] | None:
    for line in reversed(data.split(b"\n")):
        entry = _parse(line)
        if entry is not None and isinstance(entry.get("seq"), int) and "hash" in entry:
            return entry
    return None


@contextmanager
def locked_for_append(path: Path, cannot_write: str, hint: str = "") -> Iterator[IO[bytes]]:
    """`path` open for reading and appending under an exclusive lock (created, and its folder
    synced, if new); an OS error is one UserError line: `cannot_write: reason[hint]`."""
    created = not path.exists()
    try:
        handle = open(path, "a+b")  # noqa: SIM115 - closed below, after the unlock
    except OSError as exc:
        raise UserError(f"{cannot_write}: {exc.strerror}{hint}") from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield handle
    except OSError as exc:
        raise UserError(f"{cannot_write}: {exc.strerror}") from None
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
    if created:
        fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """A new file's name is durable only once its folder is synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
