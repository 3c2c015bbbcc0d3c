"""`tradegraph risk halt|resume|status`: the options of the manual kill switch; the work is
`api.risk_command`'s (and `api.halts`', shared with the HTTP routes)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.options import DataDirOption

risk_app = typer.Typer(help="The manual kill switch: halt, resume, status.", no_args_is_help=True)
AccountOption = Annotated[
    str | None,
    typer.Option(help="One account (e.g. replay:RUN_ID); without it, the global switch."),
]


@risk_app.command("halt")
def risk_halt(
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "manual kill switch",
    flatten: Annotated[bool, typer.Option(help="Also close every position.")] = False,
    account: AccountOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Halt trading now (latched until resume) and cancel pending orders."""
    from api.risk_command import halt

    halt(account, reason, flatten, data_dir)


@risk_app.command("resume")
def risk_resume(
    reason: Annotated[str, typer.Option(help="Why it is safe to trade again (required).")],
    account: AccountOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Lift a halt: explicit, and recorded with its reason."""
    from api.risk_command import resume

    resume(account, reason, data_dir)


@risk_app.command("status")
def risk_status(
    account: AccountOption = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list the per-run accounts (replay:RUN_ID).")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Trading state of the global switch and of each account, with the reasons."""
    from api.risk_command import status

    status(account, show_all, data_dir)
