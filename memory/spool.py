"""The local spool: sealed traces that the trace store could not take, kept until it can.

One append-only JSON-lines file per run under `DATA_DIR/spool/`. Every write is flushed and
fsynced before the cycle goes on, so a crash while the store is down loses no trace; the
traces are already sealed onto the chain, so flushing them later leaves the chain intact.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.types import Trace


class TraceSpool:
    def __init__(self, folder: Path, run_id: str) -> None:
        self.path = folder / f"traces-{run_id}.jsonl"
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

    def _lines(self) -> list[str]:
        return [line for line in self.path.read_text(encoding="utf-8").splitlines() if line]


def pending_spools(folder: Path) -> list[str]:
    """Run ids with spooled traces left by an earlier process (to flush at start)."""
    if not folder.is_dir():
        return []
    return sorted(p.name[len("traces-") : -len(".jsonl")] for p in folder.glob("traces-*.jsonl"))
