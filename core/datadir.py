"""The one directory that holds everything tradegraph writes (traces, ledger, checkpoints)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from core.errors import UserError

OWN_FILES: Final = (
    "ledger.sqlite",
    "risk_state.sqlite",
    "llm_spend.sqlite",
    "api_keys.sqlite",
    "halt_log.jsonl",
    "writer.lock",
)
"""What tradegraph keeps in a data directory (a SQLite file with its -wal, -shm, -journal)."""
OWN_FOLDERS: Final = ("chroma", "spool")


def is_own_file(root: Path, path: Path) -> bool:
    """True for a path holding one of the data directory's own stores, which an output file
    (--json) must never overwrite."""
    resolved = path.expanduser().resolve()
    try:
        relative = resolved.relative_to(root.expanduser().resolve())
    except ValueError:
        return False
    if not relative.parts:
        return True
    first = relative.parts[0]
    if first in OWN_FOLDERS or first.startswith(".write-test-"):
        return True
    return any(first == name or first.startswith(f"{name}-") for name in OWN_FILES)


@contextmanager
def removed_if_left_empty(path: Path) -> Iterator[None]:
    """On an error inside the block, remove the folders of `path` that the block created and
    left empty: a refused input leaves no new empty data directory behind."""
    resolved = path.expanduser().resolve()
    missing = [p for p in (resolved, *resolved.parents) if not p.exists()]
    try:
        yield
    except BaseException:
        for folder in missing:  # the deepest first; stop at the first that is not empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory if needed and prove it is writable, or explain in one line."""
    resolved = path.expanduser().resolve()
    try:
        resolved.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=resolved, prefix=".write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise UserError(
            f"data directory {resolved} is not writable ({reason}): "
            "pass --data-dir or set TRADEGRAPH_DATA_DIR to a writable folder"
        ) from None
    if not os.access(resolved, os.W_OK | os.X_OK):
        raise UserError(f"data directory {resolved} is not writable: pass --data-dir")
    return resolved


def write_atomically(path: Path, text: str | bytes, what: str) -> None:
    """Write through a temporary file, so a crash never leaves half a file behind (text is
    UTF-8; bytes, such as a gzip file, are written as they are)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        if isinstance(text, bytes):
            tmp.write_bytes(text)
        else:
            tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {what} {path}: {exc.strerror}") from None


def output_folder(folder: Path) -> Path:
    """A folder for reports (created), or one line saying why it cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --out {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise UserError(f"--out {folder} is not writable: give another folder")
    return folder.resolve()
