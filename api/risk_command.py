"""`tradegraph risk halt|resume|status`: the manual kill switch, from any terminal.

The state lives in the data directory's risk store, which every running session re-reads at
each cycle, so a halt takes effect at the next candle. A halt also cancels pending orders in
the ledger at once. Without `--account` the switch is global: every account halts. The agents
a server started (`served_agents/NAME/`, each with a risk state of its own) are halted and
resumed with it, as `POST /v1/risk/halt|resume` does: both call `api.halts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from core.accounts import REPLAY_PREFIX
from core.errors import UserError
from core.text import shown as shown_text
from core.types import BreakerSnapshot, TradingState

if TYPE_CHECKING:
    from core.risk_state import RiskState
    from core.settings import Settings

console = Console()


def _store(data_dir: Path | None) -> tuple[Settings, Path, RiskState]:
    from api.halts import risk_store
    from core.settings import load_settings

    return risk_store(load_settings(data_dir=data_dir))


def halt(account: str | None, reason: str, flatten: bool, data_dir: Path | None) -> None:
    from api.halts import engage_halt
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
        f'Lift it with: tradegraph risk resume{_account_flag(account)} --reason "..."',
        soft_wrap=True,
    )
    if outcome.served:
        console.print(
            f"Also halted: served agent(s) {_line(', '.join(outcome.served))}, "
            "each on its own data directory under served_agents/",
            soft_wrap=True,
        )
    _tell_halt(settings, account, reason)
    if outcome.problems:
        raise UserError("; ".join(outcome.problems))


def _tell_halt(settings: Settings, account: str | None, reason: str) -> None:
    from api.notify_halt import tell_halt

    problem = tell_halt(settings, account, reason)
    if problem is not None:
        console.print(f"[yellow]halt not notified:[/] {_line(problem)}", soft_wrap=True)


def resume(account: str | None, reason: str, data_dir: Path | None) -> None:
    from api.halts import release_halt
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

    _served_states(settings, root, account)
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


def _served_states(settings: Settings, root: Path, account: str | None) -> None:
    """The switches in each served agent's data directory (a risk state of its own): the
    global one and every account not ACTIVE (or `account`'s), so an operator sees whether a
    halt reached the agents."""
    from api.halts import risk_store, served_roots
    from risk.breakers.admin import status_all

    roots = served_roots(root)
    if not roots:
        return
    console.print("served agents (each on its own data directory under served_agents/):")
    width = max(len(r.name) for r in roots)
    for served in roots:
        _, _, store = risk_store(settings.model_copy(update={"data_dir": served}))
        report = status_all(store, settings.breakers)
        states = [f"global kill switch {_state(report.global_switch)}"]
        states += [
            f"account {_line(name)} {_state(snapshot)}"
            for name, snapshot in sorted(report.accounts.items())
            if name == account or (account is None and snapshot.state is not TradingState.ACTIVE)
        ]
        console.print(f"  {served.name:<{width}}  {', '.join(states)}", soft_wrap=True)


def _known(accounts: Mapping[str, BreakerSnapshot]) -> str:
    """The accounts a person may have meant: the live ones by name, the replays counted."""
    live = sorted(n for n in accounts if not n.startswith(REPLAY_PREFIX))
    replays = len(accounts) - len(live)
    parts = [f"known accounts: {', '.join(live) if live else 'no live account'}"]
    if replays:
        parts.append(f"and {replays} replay account(s) (`tradegraph risk status --all`)")
    return " ".join(parts)


def _state(snapshot: BreakerSnapshot) -> str:
    return snapshot.state.value + (" +flatten" if snapshot.flatten else "")


def _account_flag(account: str | None) -> str:
    return "" if account is None else f" --account {account}"


def _line(text: str) -> str:
    """A reason or a name (a person's, a breaker's or one quoting a model) shown as data."""
    return escape(shown_text(text, one_line=True))
