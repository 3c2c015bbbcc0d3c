"""`tradegraph risk halt|resume|status`: the manual kill switch, from any terminal.

The state lives in the data directory's risk store, which every running session re-reads at
each cycle, so a halt takes effect at the next candle. A halt also cancels pending orders in
the ledger at once. Without `--account` the switch is global: every account halts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from core.errors import UserError
from core.types import BreakerSnapshot, TradingState

if TYPE_CHECKING:
    from core.settings import Settings
    from core.storage import SqliteStateStore
    from risk.breakers.board import BreakerBoard

console = Console()
REPLAY_PREFIX = "replay:"


def _store(data_dir: Path | None) -> tuple[Settings, Path, SqliteStateStore]:
    from core.datadir import prepare_data_dir
    from core.settings import load_settings
    from core.storage import SqliteStateStore

    settings = load_settings(data_dir=data_dir)
    root = prepare_data_dir(settings.data_dir)
    return settings, root, SqliteStateStore(root / "risk_state.sqlite")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _reason(reason: str, flag: str = "--reason") -> str:
    if not reason.strip():
        raise UserError(f"{flag} is empty: say why, for the audit trail")
    return reason.strip()


def halt(account: str | None, reason: str, flatten: bool, data_dir: Path | None) -> None:
    from core.ledger import cancel_pending_orders
    from risk.breakers.admin import halt_all

    reason = _reason(reason)
    settings, root, store = _store(data_dir)
    if account is None:
        halt_all(store, reason, _now_ms(), flatten=flatten)
        cancelled = cancel_pending_orders(root / "ledger.sqlite")
        scope = "every account (global kill switch)"
    else:
        _board(store, account, settings).halt(reason, _now_ms(), flatten=flatten)
        run_id = account.removeprefix(REPLAY_PREFIX) if account.startswith(REPLAY_PREFIX) else ""
        cancelled = cancel_pending_orders(root / "ledger.sqlite", run_id) if run_id else 0
        scope = f"account {account}"
    then = " and flatten positions" if flatten else ""
    console.print(
        f"[bold red]HALTED[/] {scope}: {reason}. Cancelled {cancelled} pending order(s); "
        f"running sessions stop trading{then} at their next cycle. "
        f'Lift it with: tradegraph risk resume{_account_flag(account)} --reason "..."'
    )


def resume(account: str | None, reason: str, data_dir: Path | None) -> None:
    from risk.breakers.admin import resume_all

    reason = _reason(reason)
    settings, _, store = _store(data_dir)
    if account is None:
        resume_all(store, reason, _now_ms())
        console.print(f"[bold green]RESUMED[/] the global kill switch: {reason}")
        return
    snapshot = _board(store, account, settings).resume(reason, _now_ms())
    console.print(
        f"[bold green]RESUMED[/] account {account}: {reason} (now {snapshot.state.value})"
    )


def status(account: str | None, show_all: bool, data_dir: Path | None) -> None:
    from risk.breakers.admin import status_all

    settings, root, store = _store(data_dir)
    report = status_all(store, settings.breakers)
    accounts = report.accounts
    if account is not None:
        if account not in accounts:
            known = ", ".join(sorted(accounts)[:5]) or "none yet"
            raise UserError(f"no account {account!r} in {root}: known accounts: {known}")
        accounts = {account: accounts[account]}
    table = Table(title=f"Risk state in {root}", title_justify="left")
    for column in ("account", "state", "drawdown", "size", "reasons"):
        table.add_column(column)
    table.add_row("global kill switch", *_cells(report.global_switch))
    hidden = 0
    for name, snapshot in sorted(accounts.items()):
        if snapshot.state is TradingState.ACTIVE and not show_all and account is None:
            hidden += 1
            continue
        table.add_row(name, *_cells(snapshot))
    console.print(table)
    if hidden:
        console.print(f"{hidden} more account(s) ACTIVE (show them with --all)")


def _board(store: SqliteStateStore, account: str, settings: Settings) -> BreakerBoard:
    from risk.breakers.board import BreakerBoard

    try:
        return BreakerBoard(store, account, settings.breakers)
    except ValueError as exc:
        raise UserError(f"--account {account!r}: {exc}") from None


def _cells(snapshot: BreakerSnapshot) -> tuple[str, str, str, str]:
    colour = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "red"}[snapshot.state.value]
    flatten = " +flatten" if snapshot.flatten else ""
    return (
        f"[{colour}]{snapshot.state.value}[/]{flatten}",
        f"{snapshot.drawdown:.2%}",
        f"x{snapshot.size_multiplier:g}",
        "; ".join(snapshot.reasons) or "-",
    )


def _account_flag(account: str | None) -> str:
    return "" if account is None else f" --account {account}"
