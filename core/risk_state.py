"""The risk state of a data directory: the breakers' store with the halt log beside it.

`RiskState` is the LockStore every board and the `risk` commands use. A kill switch record
goes to the halt log first and then to the store, and the log's head is mirrored in the store,
so `check_latches` can tell at a run's start whether the store still says what the log says:

- a switch the log says is engaged must be engaged in the store (a hand edit to "released",
  or a deleted store, is refused until an operator resumes on the record);
- the store's mirrored head must be an event of the log (a log cut short, replaced or deleted
  is refused);
- the log's chain must verify.

The reverse (the store halted where the log says released) is allowed: it is the safe side,
and what a crash between the two writes of a resume leaves.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UserError
from core.halt_log import HALT_LOG_NAME, HaltEvent, HaltLog, parse_record
from core.storage import SqliteStateStore

if TYPE_CHECKING:
    from core.backends import StateStore

RISK_STATE_NAME = "risk_state.sqlite"
HEAD_KEY = "halt_log/head"
"""Where the store mirrors the log's head; outside the breakers' `risk/` prefix."""
KILL_SWITCH_SUFFIX = "/kill_switch"
"""How a kill switch's key ends (`risk.breakers.keys`: `risk/<account>/kill_switch`)."""


class LatchMismatchError(UserError):
    """The store and the halt log disagree about a halt: no run may start."""


def is_kill_switch(key: str) -> bool:
    return key.startswith("risk/") and key.endswith(KILL_SWITCH_SUFFIX)


class RiskState:
    """A LockStore over `risk_state.sqlite` (or the `store` given: `risk_state` on a
    PostgreSQL server) whose kill switch writes are logged first."""

    def __init__(self, root: Path, store: StateStore | None = None) -> None:
        self.root = Path(root)
        self.store: StateStore = (
            SqliteStateStore(self.root / RISK_STATE_NAME) if store is None else store
        )
        self.log = HaltLog(self.root / HALT_LOG_NAME)

    def get(self, key: str) -> str | None:
        return self.store.get(key)

    def keys(self, prefix: str = "") -> list[str]:
        return self.store.keys(prefix)

    def delete(self, key: str) -> None:
        """Removing a kill switch record releases it: logged as a release, like any other."""
        logged = is_kill_switch(key) and self.store.get(key) is not None
        self.store.delete(key)
        if logged:
            released = {"engaged": False, "by": "removed", "since_ms": time.time_ns() // 10**6}
            self._log(key, {**released, "reason": "record removed"})

    def put(self, key: str, value: str) -> None:
        """A halt is logged (fsynced) before the store holds it, a release after: so a crash
        between the two writes, or a store that cannot be written, always leaves the pair on
        the halted side (refused at the next start until the operator confirms or resumes),
        and a release the store did not take is never on the record."""
        if not is_kill_switch(key):
            self.store.put(key, value)
            return
        record = parse_record(value)
        if record is None:
            record = _unreadable(value)
        if record.get("engaged") is True:
            self._log(key, record)
            self.store.put(key, value)
        else:
            self.store.put(key, value)
            self._log(key, record)

    def _log(self, key: str, record: dict[str, object]) -> None:
        event = self.log.append(key, record)
        if event is not None:
            self.store.put(HEAD_KEY, event.hash)

    def record_halt(self, key: str, record: dict[str, object]) -> HaltEvent | None:
        """Log a halt without touching the store: what `risk halt` does when the store cannot
        be used. Every run then refuses to start (the store cannot say it is engaged)."""
        return self.log.append(key, record, only_if_changed=False)

    def close(self) -> None:
        self.store.close()


def check_latches(state: RiskState) -> None:
    """Refuse (LatchMismatchError, one line) when the store disagrees with the halt log."""
    logged = state.log.read()
    name = RISK_STATE_NAME if isinstance(state.store, SqliteStateStore) else state.store.where
    store_exists = state.store.exists()
    if store_exists:
        state.store.check()
    mirrored = state.store.get(HEAD_KEY) if store_exists else None
    if mirrored is not None and mirrored not in logged.hashes:
        what = "missing" if not state.log.exists() else "cut short or replaced"
        raise LatchMismatchError(
            f"the halt log {state.log.path} is {what}: {name} records halt events "
            "it does not hold; restore the log from a backup (no run starts until then)"
        )
    for key, event in sorted(logged.engaged().items()):
        stored = parse_record(state.store.get(key)) if store_exists else None
        if stored is not None and stored.get("engaged") is True:
            continue
        where = "is missing" if not store_exists else "says released" if stored else "has no record"
        raise LatchMismatchError(
            f"{_scope(key)} is halted in the halt log (by {event.by}: {event.reason}) but "
            f"{name} {where}: it was changed outside tradegraph; after review, "
            f'lift the halt on the record with `tradegraph risk resume{_flag(key)} --reason "..."`'
        )


def _scope(key: str) -> str:
    account = _account(key)
    return "every account (global kill switch)" if account is None else f"account {account}"


def _flag(key: str) -> str:
    account = _account(key)
    return "" if account is None else f" --account {account}"


def _account(key: str) -> str | None:
    name = key[len("risk/") : -len(KILL_SWITCH_SUFFIX)]
    return None if name == "global" else name


def _unreadable(value: str) -> dict[str, object]:
    """An unreadable record counts as a halt (the boards read it so): logged as one."""
    return {"engaged": True, "by": "store", "reason": f"unreadable record {value[:80]!r}"}
