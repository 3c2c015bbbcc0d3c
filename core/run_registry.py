"""The run registry: every run that opened the data directory's trace store, hash-chained.

The trace store holds each run's chain and head record, but both can be deleted or rewritten
together inside the store. The registry, a chained log beside it (`DATA_DIR/run_registry.jsonl`),
says which runs exist and where their chains stood, so `audit verify` reports a run that
vanished and a chain rewritten under a moved head:

- `open`: a process opened the run's trace store (before its first trace);
- `mark`: the run's traces up to `head_seq`, ending at `head`, were written to the store;
- `seal`: the process ended (all its traces written or spooled) with the chain at `head`;
- `adopt`: a run that was in the store before the registry was, at its head record.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.chained_log import ChainedLog

REGISTRY_NAME = "run_registry.jsonl"
Kind = Literal["open", "mark", "seal", "adopt"]


@dataclass(frozen=True)
class ChainMark:
    """Where a run's chain stood: its trace `seq` had hash `head` (seq -1: no trace yet)."""

    kind: Kind
    seq: int
    head: str


@dataclass
class RegisteredRun:
    run_id: str
    marks: list[ChainMark] = field(default_factory=list)
    opened: bool = False

    @property
    def sealed(self) -> ChainMark | None:
        """The seal, when the last process of the run ended and no other opened it since."""
        last = self.marks[-1] if self.marks else None
        return last if last is not None and last.kind == "seal" else None

    @property
    def points(self) -> list[ChainMark]:
        """Every recorded position of the chain (each must still hold)."""
        return [m for m in self.marks if m.kind != "open"]


class RunRegistry:
    def __init__(self, root: Path) -> None:
        self.log = ChainedLog(Path(root) / REGISTRY_NAME)

    @property
    def path(self) -> Path:
        return self.log.path

    def exists(self) -> bool:
        return self.log.exists()

    def open_run(self, run_id: str) -> None:
        self._append("open", run_id)

    def mark(self, run_id: str, seq: int, head: str) -> None:
        self._append("mark", run_id, seq, head)

    def seal(self, run_id: str, seq: int, head: str) -> None:
        self._append("seal", run_id, seq, head)

    def adopt(self, heads: Iterable[tuple[str, int, str]]) -> None:
        """Register runs written before the registry existed, at their head records."""
        for run_id, seq, head in heads:
            self._append("adopt", run_id, seq, head)

    def runs(self) -> dict[str, RegisteredRun]:
        """Every registered run, from the verified log (ChainedLogBrokenError if it is not)."""
        return runs_of(self.log.read())

    def _append(self, kind: Kind, run_id: str, seq: int = -1, head: str = "") -> None:
        record: dict[str, Any] = {"kind": kind, "run_id": run_id, "at_ms": time.time_ns() // 10**6}
        if kind != "open":
            record.update({"head_seq": seq, "head": head})
        self.log.append(record)


def runs_of(entries: Iterable[dict[str, Any]]) -> dict[str, RegisteredRun]:
    found: dict[str, RegisteredRun] = {}
    for entry in entries:
        run_id = str(entry.get("run_id", ""))
        run = found.setdefault(run_id, RegisteredRun(run_id))
        kind = entry.get("kind")
        if kind == "open":
            run.opened = True
            run.marks.append(ChainMark("open", -1, ""))
        elif kind in ("mark", "seal", "adopt"):
            run.marks.append(ChainMark(kind, int(entry.get("head_seq", -1)), str(entry["head"])))
    return found
