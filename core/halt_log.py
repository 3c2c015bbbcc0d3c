"""The halt log: every engage and release of a kill switch, hash-chained, in a file of its own.

The risk state store (SQLite) holds each kill switch's current record, where the breakers read
it every cycle; this log holds their history, one JSON line per change, each with the sha256 of
the line before it. Every change goes to the log first (fsynced), then to the store, so:

- a halt is durable even when the store cannot be read or written (a damaged disk): the
  operator's `risk halt` still engages, and every run refuses to start;
- the latch cannot be lifted behind the audit's back: a run refuses to start while the store
  says released (or has lost the record) where the log says engaged (`core.risk_state`).

A line edited, removed or inserted breaks the chain, and a broken log keeps every run out.
Only a torn last line (a crash inside an append, before its fsync returned) is not a break:
nothing was acknowledged for it, so it is dropped by the next append.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict

from core.chained_log import locked_for_append
from core.errors import UserError
from core.types import canonical_json

HALT_LOG_NAME = "halt_log.jsonl"
GENESIS = "0" * 64
"""The `prev` of the first event."""


class HaltEvent(BaseModel):
    """One change of one kill switch, as it was written to the store."""

    model_config = ConfigDict(frozen=True)

    seq: int
    key: str
    """The switch's key in the risk store (`risk/<account>/kill_switch`, or the global one)."""
    engaged: bool
    flatten: bool
    by: str
    reason: str
    since_ms: int
    prev: str
    hash: str = ""

    def sealed(self) -> HaltEvent:
        return self.model_copy(update={"hash": _digest(self)})


class HaltLogBrokenError(UserError):
    """The log's chain does not verify: someone edited it, or the disk damaged it."""


class HaltLogState(BaseModel):
    """What a verified log says: each switch's last event, and the chain's head."""

    model_config = ConfigDict(frozen=True)

    events: int
    head: str
    hashes: frozenset[str]
    last: dict[str, HaltEvent]

    def engaged(self) -> dict[str, HaltEvent]:
        return {key: event for key, event in self.last.items() if event.engaged}


class HaltLog:
    """Append-only and shared by every process on the data directory (an append holds an
    exclusive lock on the file, so two processes never chain onto the same line)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> HaltLogState:
        """The verified log (empty when there is none); HaltLogBrokenError naming the first
        bad line otherwise."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return _state([])
        except OSError as exc:
            raise UserError(f"cannot read the halt log {self.path}: {exc.strerror}") from None
        return _state(self._events(data)[0])

    def append(
        self, key: str, record: dict[str, Any], *, only_if_changed: bool = True
    ) -> HaltEvent | None:
        """Log a kill switch record (`KillSwitch.to_record()`) for `key`, durably. With
        `only_if_changed`, a record equal to the switch's last event is not logged again.
        The event written, or None. A broken log is appended to all the same (a halt must
        always be recorded); runs stay refused until it is restored."""
        with self._locked() as handle:
            handle.seek(0)
            data = handle.read()
            try:
                events, torn = self._events(data)
            except HaltLogBrokenError:
                events, torn = self._tail_only(data), 0
            last = next((e for e in reversed(events) if e.key == key), None)
            event = _event(key, record, seq=len(events), prev=events[-1].hash if events else "")
            if only_if_changed and last is not None and _same(last, event):
                return None
            if torn:
                handle.truncate(len(data) - torn)
            handle.seek(0, os.SEEK_END)
            handle.write((canonical_json(event.model_dump()) + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())
            return event

    def _locked(self) -> contextlib.AbstractContextManager[IO[bytes]]:
        return locked_for_append(
            self.path,
            f"cannot write the halt log {self.path}",
            ": free the disk or fix its permissions; no halt or resume can be recorded until then",
        )

    def _events(self, data: bytes) -> tuple[list[HaltEvent], int]:
        """The verified events, and the length of a torn last line (0 when there is none)."""
        lines = data.split(b"\n")
        torn = len(lines[-1])  # after the last newline: a line whose append did not finish
        events: list[HaltEvent] = []
        prev = GENESIS
        for number, line in enumerate(lines[:-1], start=1):
            event = self._parse(line, number)
            if event.seq != len(events) or event.prev != prev or event.hash != _digest(event):
                raise self._broken(number, "its hash or link does not match the chain")
            events.append(event)
            prev = event.hash
        return events, torn

    def _tail_only(self, data: bytes) -> list[HaltEvent]:
        """The last readable event of a broken log, so that new events still chain on."""
        for line in reversed(data.split(b"\n")):
            try:
                return [HaltEvent.model_validate_json(line)]
            except ValueError:
                continue
        return []

    def _parse(self, line: bytes, number: int) -> HaltEvent:
        try:
            return HaltEvent.model_validate_json(line)
        except ValueError:
            raise self._broken(number, "it is not a halt event") from None

    def _broken(self, number: int, why: str) -> HaltLogBrokenError:
        return HaltLogBrokenError(
            f"the halt log {self.path} is broken at line {number} ({why}): restore it from a "
            "backup; no run starts until it verifies"
        )


def _state(events: list[HaltEvent]) -> HaltLogState:
    last = {event.key: event for event in events}
    head = events[-1].hash if events else GENESIS
    return HaltLogState(
        events=len(events), head=head, hashes=frozenset(e.hash for e in events), last=last
    )


def _event(key: str, record: dict[str, Any], *, seq: int, prev: str) -> HaltEvent:
    return HaltEvent(
        seq=seq,
        key=key,
        engaged=bool(record.get("engaged")),
        flatten=bool(record.get("flatten")),
        by=str(record.get("by", "")),
        reason=str(record.get("reason", "")),
        since_ms=int(record.get("since_ms", 0)),
        prev=prev or GENESIS,
    ).sealed()


def _same(a: HaltEvent, b: HaltEvent) -> bool:
    return (a.engaged, a.flatten, a.by, a.since_ms) == (b.engaged, b.flatten, b.by, b.since_ms)


def _digest(event: HaltEvent) -> str:
    body = event.model_dump(exclude={"hash"})
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def parse_record(text: str | None) -> dict[str, Any] | None:
    """A stored kill switch record as a dict; None when absent or unreadable."""
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
