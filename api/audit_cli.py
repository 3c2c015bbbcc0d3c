"""`tradegraph audit verify|repair|show|search|prune`: the options of the audit trail's
commands; the work is `api.audit_verify`'s and `api.audit_command`'s."""

from __future__ import annotations

from typing import Annotated

import typer

from api.options import DataDirOption
from core.dates import parse_date

audit_app = typer.Typer(
    help="The audit trail: verify it, repair an interrupted write, show a trace, search, prune.",
    no_args_is_help=True,
)


@audit_app.command("verify")
def audit_verify(
    run: Annotated[str | None, typer.Option(help="Only this run id.")] = None,
    head: Annotated[
        str | None,
        typer.Option(
            help="With --run: the chain head kept outside the store (the run summary's "
            "trace_store.chain_head); catches a rewrite of the whole chain."
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check every trace chain, the run registry, the ledger's orders and fills against the
    traces, and situations and lessons against their hashes; exit 1 naming what fails."""
    from api.audit_verify import verify

    verify(run, head, data_dir)


@audit_app.command("repair")
def audit_repair(
    run: Annotated[str | None, typer.Option(help="Only this run id.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Move head records left behind by an interrupted write to where the chain proves."""
    from api.audit_verify import repair

    repair(run, data_dir)


@audit_app.command("show")
def audit_show(
    trace: Annotated[str, typer.Argument(help="A trace id, RUN_ID:SEQ.")],
    data_dir: DataDirOption = None,
) -> None:
    """Print one trace readably: what was seen, proposed, decided and done."""
    from api.audit_command import show

    show(trace, data_dir)


@audit_app.command("search")
def audit_search(
    text: Annotated[str, typer.Argument(help="What to look for, in words.")],
    symbol: Annotated[str | None, typer.Option(help="Only this symbol, e.g. BTC/USDT.")] = None,
    action: Annotated[str | None, typer.Option(help="Only BUY, SELL or HOLD.")] = None,
    verdict: Annotated[str | None, typer.Option(help="Only approved, denied or hold.")] = None,
    run: Annotated[str | None, typer.Option(help="Only this run id.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="From this UTC date.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="To this UTC date.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many traces.")] = 10,
    data_dir: DataDirOption = None,
) -> None:
    """Traces nearest in meaning to TEXT, among those matching the filters."""
    from api.audit_command import search

    search(
        text,
        symbol=symbol,
        action=action,
        verdict=verdict,
        run=run,
        start=parse_date(from_, "--from"),
        end=parse_date(to, "--to", end_of_day=True),
        limit=limit,
        data_dir=data_dir,
    )


@audit_app.command("prune")
def audit_prune(
    older_than: Annotated[
        str, typer.Option(help="Delete traces recorded longer ago than this: 90d, 12h, 30m.")
    ],
    run: Annotated[str | None, typer.Option(help="Only this run id.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete old traces; each chain keeps the hash of its last pruned trace as its anchor."""
    from api.audit_command import prune

    prune(older_than, run, data_dir)
