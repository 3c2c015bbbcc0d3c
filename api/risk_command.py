"""`tradegraph risk halt|resume|status`: the manual kill switch, from any terminal.

The state lives in the data directory's risk store, which every running session re-reads at
each cycle, so a halt takes effect at the next candle. A halt also cancels pending orders in
the ledger at once. Without `--account` the switch is global: every account halts.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from core.accounts import REPLAY_PREFIX
from core.errors import UserError
from core.storage import StateStoreError
from core.text import shown as shown_text
from core.types import BreakerSnapshot, TradingState

MANUAL = "manual"
"""Who engaged a switch by hand (as `risk.breakers.board.MANUAL`)."""

if TYPE_CHECKING:
    from core.risk_state import RiskState
    from core.settings import Settings
    from risk.breakers.board import BreakerBoard

console = Console()


def _store(data_dir: Path | None) -> tuple[Settings, Path, RiskState]:
    from core.settings import load_settings

    return _store_of(load_settings(data_dir=data_dir))


def _store_of(settings: Settings) -> tuple[Settings, Path, RiskState]:
    from core.backends import storage_for
    from core.datadir import prepare_data_dir
    from core.risk_state import RiskState

    root = prepare_data_dir(settings.data_dir)
    return settings, root, RiskState(root, storage_for(settings, root).state_store("risk_state"))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _reason(reason: str, flag: str = "--reason") -> str:
    if not reason.strip():
        raise UserError(f"{flag} is empty: say why, for the audit trail")
    return reason.strip()


@dataclass(frozen=True)
class HaltOutcome:
    """What a halt did: the switch engaged (on the halt log alone when the store failed), the
    pending orders cancelled (None: they could not be), and what went wrong, one line each."""

    scope: str
    logged_only: bool
    cancelled: int | None
    problems: tuple[str, ...]


def engage_halt(settings: Settings, account: str | None, reason: str, flatten: bool) -> HaltOutcome:
    """Engage the kill switch of `account` (None: the global one) and cancel its pending
    orders: `tradegraph risk halt` and `POST /v1/risk/halt` both come here."""
    from core.backends import storage_for
    from risk.breakers.admin import halt_all

    reason = _reason(reason)
    settings, root, store = _store_of(settings)
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


def halt(account: str | None, reason: str, flatten: bool, data_dir: Path | None) -> None:
    from core.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    outcome = engage_halt(settings, account, reason, flatten)
    reason = reason.strip()
    where = " (recorded in the halt log only)" if outcome.logged_only else ""
    cancelled = (
        "Could not cancel" if outcome.cancelled is None else f"Cancelled {outcome.cancelled}"
    )
    then = " and flatten positions" if flatten else ""
    console.print(
        f"[bold red]HALTED[/] {_line(outcome.scope)}{where}: "
        f"{_line(reason)}. {cancelled} pending order(s); "
        f"running sessions stop trading{then} at their next cycle. "
        f'Lift it with: tradegraph risk resume{_account_flag(account)} --reason "..."'
    )
    _tell_halt(settings, account, reason)
    if outcome.problems:
        raise UserError("; ".join(outcome.problems))


def _tell_halt(settings: Settings, account: str | None, reason: str) -> None:
    from api.notify_halt import tell_halt

    problem = tell_halt(settings, account, reason)
    if problem is not None:
        console.print(f"[yellow]halt not notified:[/] {_line(problem)}", soft_wrap=True)


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


def release_halt(settings: Settings, account: str | None, reason: str) -> str:
    """Release the kill switch of `account` (None: the global one); the state it leaves, as
    a word (ACTIVE, REDUCING, HALTED: another breaker may still hold it). `tradegraph risk
    resume` and `POST /v1/risk/resume` both come here."""
    from risk.breakers.admin import resume_all

    reason = _reason(reason)
    settings, _, store = _store_of(settings)
    if account is None:
        resume_all(store, reason, _now_ms())
        return "ACTIVE"
    return _board(store, account, settings).resume(reason, _now_ms()).state.value


def resume(account: str | None, reason: str, data_dir: Path | None) -> None:
    from core.settings import load_settings

    state = release_halt(load_settings(data_dir=data_dir), account, reason)
    reason = reason.strip()
    if account is None:
        console.print(f"[bold green]RESUMED[/] the global kill switch: {_line(reason)}")
        return
    console.print(f"[bold green]RESUMED[/] account {_line(account)}: {_line(reason)} (now {state})")


def status(account: str | None, show_all: bool, data_dir: Path | None) -> None:
    """The global switch and the live accounts (named by a person, they outlive runs); the
    per-replay accounts (`replay:RUN_ID`, one per finished run) only with --all or by name.
    Account names are printed whole, never cut, so they can be copied into --account."""
    from core.risk_state import LatchMismatchError, check_latches
    from risk.breakers.admin import status_all

    settings, root, store = _store(data_dir)
    report = status_all(store, settings.breakers)
    try:
        check_latches(store)
        mismatch = None
    except LatchMismatchError as exc:
        mismatch = str(exc)
    accounts = report.accounts
    if account is not None:
        if account not in accounts:
            raise UserError(f"no account {account!r} in {root}: {_known(accounts)}")
        shown = {account: accounts[account]}
    elif show_all:
        shown = accounts
    else:
        shown = {n: s for n, s in accounts.items() if not n.startswith(REPLAY_PREFIX)}
    rows = [("global kill switch", report.global_switch), *sorted(shown.items())]
    width = max(len(name) for name, _ in rows)
    state_width = max(len(_state(snapshot)) for _, snapshot in rows)
    console.print(f"Risk state in {escape(str(root))}", soft_wrap=True)
    console.print(f"  {'account':<{width}}  {'state':<{state_width}}  drawdown  size", style="bold")
    for name, snapshot in rows:  # plain lines: a name is never cut, so it can be copied
        colour = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "red"}[snapshot.state.value]
        pad = " " * (width - len(name))
        console.print(
            f"  {_line(name)}{pad}  [{colour}]{_state(snapshot):<{state_width}}[/]  "
            f"{snapshot.drawdown:>8.2%}  x{snapshot.size_multiplier:g}",
            soft_wrap=True,
        )
        for reason in snapshot.reasons:
            console.print(f"      {_line(reason)}", soft_wrap=True)
    hidden = [s for n, s in accounts.items() if n not in shown] if account is None else []
    if hidden:
        unusual = sum(s.state is not TradingState.ACTIVE for s in hidden)
        states = f", {unusual} not ACTIVE" if unusual else ""
        console.print(
            f"{len(hidden)} replay account(s) hidden (replay:RUN_ID, one per run{states}): "
            "--all lists them",
            soft_wrap=True,
        )

    logged = store.log.read()
    console.print(
        f"halt log: {logged.events} event(s), head {logged.head}", soft_wrap=True, style="dim"
    )
    if mismatch is not None:
        console.print(
            f"[bold red]no run can start:[/] {_line(mismatch)}",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    from core.backends import storage_for

    storage_for(settings, root).check_ledger()


def _known(accounts: Mapping[str, BreakerSnapshot]) -> str:
    """The accounts a person may have meant: the live ones by name, the replays counted."""
    live = sorted(n for n in accounts if not n.startswith(REPLAY_PREFIX))
    replays = len(accounts) - len(live)
    parts = [f"known accounts: {', '.join(live) if live else 'no live account'}"]
    if replays:
        parts.append(f"and {replays} replay account(s) (`tradegraph risk status --all`)")
    return " ".join(parts)


def _board(store: RiskState, account: str, settings: Settings) -> BreakerBoard:
    from risk.breakers.board import BreakerBoard

    try:
        return BreakerBoard(store, account, settings.breakers)
    except ValueError as exc:
        raise UserError(f"--account {account!r}: {exc}") from None


def _state(snapshot: BreakerSnapshot) -> str:
    return snapshot.state.value + (" +flatten" if snapshot.flatten else "")


def _account_flag(account: str | None) -> str:
    return "" if account is None else f" --account {account}"


def _line(text: str) -> str:
    """A reason or a name (a person's, a breaker's or one quoting a model) shown as data."""
    return escape(shown_text(text, one_line=True))
