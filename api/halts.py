"""The kill switch of a data directory and of the agents served from it, engaged and released
by `tradegraph risk halt|resume` and `POST /v1/risk/halt|resume` alike.

An agent started over HTTP trades a data directory of its own, `served_agents/NAME/` under the
server's (`api.server.served_agents`), with a risk state of its own: a halt of the server's
data directory would not reach it. So a halt engages the switch there too (every served agent
for the global switch, the ones trading the account otherwise), whichever surface asked, and a
resume releases it there as well.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from core.errors import UserError
from core.storage import StateStoreError

if TYPE_CHECKING:
    from core.risk_state import RiskState
    from core.settings import Settings
    from risk.breakers.board import BreakerBoard

MANUAL: Final = "manual"
"""Who engaged a switch by hand (as `risk.breakers.board.MANUAL`)."""
SERVED_FOLDER: Final = "served_agents"


@dataclass(frozen=True)
class HaltOutcome:
    """What a halt did: the switch engaged (on the halt log alone when the store failed), the
    pending orders cancelled (None: they could not be), the served agents' data directories
    halted too, and what went wrong, one line each."""

    scope: str
    logged_only: bool
    cancelled: int | None
    problems: tuple[str, ...]
    served: tuple[str, ...] = ()


def risk_store(settings: Settings) -> tuple[Settings, Path, RiskState]:
    """The data directory of `settings`, prepared, and its risk state."""
    from core.backends import storage_for
    from core.datadir import prepare_data_dir
    from core.risk_state import RiskState

    root = prepare_data_dir(settings.data_dir)
    return settings, root, RiskState(root, storage_for(settings, root).state_store("risk_state"))


def engage_halt(settings: Settings, account: str | None, reason: str, flatten: bool) -> HaltOutcome:
    """Engage the kill switch of `account` (None: the global one) and cancel its pending
    orders, in the data directory and in its served agents' ones."""
    outcome = _engage_one(settings, account, reason, flatten)
    served: list[str] = []
    problems = list(outcome.problems)
    for root in _served_for(settings, account):
        try:
            theirs = _engage_one(_on(settings, root), account, reason, flatten)
        except UserError as exc:
            problems.append(f"served agent {root.name}: {exc}")
            continue
        served.append(root.name)
        problems.extend(f"served agent {root.name}: {problem}" for problem in theirs.problems)
    return HaltOutcome(
        outcome.scope, outcome.logged_only, outcome.cancelled, tuple(problems), tuple(served)
    )


def release_halt(settings: Settings, account: str | None, reason: str) -> str:
    """Release the kill switch of `account` (None: the global one) in the served agents' data
    directories, then in the data directory; the state it leaves there, as a word (ACTIVE,
    REDUCING, HALTED: another breaker may still hold it)."""
    for root in _served_for(settings, account):
        _release_one(_on(settings, root), account, reason)
    return _release_one(settings, account, reason)


def served_roots(root: Path) -> list[Path]:
    """The data directories of the agents started over HTTP from data directory `root`: each
    has its own risk state, so a halt meant for them all names each of them."""
    served = root / SERVED_FOLDER
    return sorted(p for p in served.iterdir() if p.is_dir()) if served.is_dir() else []


def _engage_one(settings: Settings, account: str | None, reason: str, flatten: bool) -> HaltOutcome:
    from core.backends import storage_for
    from risk.breakers.admin import halt_all

    reason = _reason(reason)
    settings, root, store = risk_store(settings)
    scope = "every account (global kill switch)" if account is None else f"account {account}"
    problems: list[str] = []
    logged_only = False
    storage = storage_for(settings, root)
    try:
        if account is None:
            halt_all(store, reason, _now_ms(), flatten=flatten)
        else:
            _board(store, account, settings).halt(reason, _now_ms(), flatten=flatten)
    except StateStoreError as exc:
        _halt_on_the_log_only(store, account, reason, flatten)
        logged_only = True
        problems.append(
            f"{exc}; the halt is recorded in {store.log.path.name}: no run starts until the "
            "state store is restored (or moved aside) and the halt is resumed on the record"
        )
    cancelled: int | None = None
    try:
        cancelled = storage.cancel_pending_orders(account)
    except StateStoreError as exc:
        problems.append(f"{exc}: no order was cancelled")
    except sqlite3.DatabaseError as exc:
        problems.append(f"{storage.where} cannot be used ({exc}): no order was cancelled")
    return HaltOutcome(scope, logged_only, cancelled, tuple(problems))


def _release_one(settings: Settings, account: str | None, reason: str) -> str:
    from risk.breakers.admin import resume_all

    reason = _reason(reason)
    settings, _, store = risk_store(settings)
    if account is None:
        resume_all(store, reason, _now_ms())
        return "ACTIVE"
    return _board(store, account, settings).resume(reason, _now_ms()).state.value


def _halt_on_the_log_only(
    store: RiskState, account: str | None, reason: str, flatten: bool
) -> None:
    """The state store cannot be used: the halt goes to the halt log alone, which keeps every
    run from starting (the store cannot confirm it); running sessions, which read the same
    damaged store every cycle, halt on it already."""
    from risk.breakers.keys import GLOBAL_KILL_KEY, account_key

    key = GLOBAL_KILL_KEY if account is None else account_key(account, "kill_switch")
    record = {"engaged": True, "reason": reason, "since_ms": _now_ms(), "by": MANUAL}
    store.record_halt(key, {**record, "flatten": flatten})


def _served_for(settings: Settings, account: str | None) -> list[Path]:
    """The served agents' data directories a switch of `account` (None: the global one)
    reaches: those whose agent trades it, and those whose pulse cannot be read (a halt
    errs on the side of reaching too far)."""
    roots = served_roots(settings.data_dir.expanduser().resolve())
    if account is None:
        return roots
    return [root for root in roots if _may_trade(root, account)]


def _may_trade(root: Path, account: str) -> bool:
    from graphs.agent.pulse import all_pulses

    try:
        return any(pulse.spec.account == account for pulse in all_pulses(root))
    except UserError:
        return True


def _on(settings: Settings, root: Path) -> Settings:
    return settings.model_copy(update={"data_dir": root})


def _board(store: RiskState, account: str, settings: Settings) -> BreakerBoard:
    from risk.breakers.board import BreakerBoard

    try:
        return BreakerBoard(store, account, settings.breakers)
    except ValueError as exc:
        raise UserError(f"--account {account!r}: {exc}") from None


def _reason(reason: str, flag: str = "--reason") -> str:
    if not reason.strip():
        raise UserError(f"{flag} is empty: say why, for the audit trail")
    return reason.strip()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
