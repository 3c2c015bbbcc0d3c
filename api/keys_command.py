"""`tradegraph keys create|list|revoke`: the API keys the HTTP server accepts.

`create` prints the token alone on stdout (so `KEY=$(tradegraph keys create ...)` keeps it)
and, on stderr, that it is shown this once: only its hash is stored. `list` never shows a
token. `revoke` refuses a key from the next request on, in a server already running too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.options import DataDirOption

if TYPE_CHECKING:
    from core.api_keys import ApiKeyStore

keys_app = typer.Typer(
    help="API keys for `tradegraph serve`: create (shown once), list, revoke.",
    no_args_is_help=True,
)

HOW_TO_SEND = "send it as `Authorization: Bearer KEY` or `X-API-Key: KEY`"


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what uses the key (shown in audit traces).")],
    role: Annotated[
        str,
        typer.Option(help="viewer (reads), trader (also chats and approves trades) or admin."),
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Create a key; its token is printed this once and never stored."""
    with _store(data_dir) as keys:
        issued = keys.create(name.strip(), role.strip())
    typer.echo(issued.token)
    typer.echo(
        f"key {issued.key.name} ({issued.key.role}) created: the token above is shown this "
        f"once and not stored, keep it now; {HOW_TO_SEND}",
        err=True,
    )


@keys_app.command("list")
def list_keys(data_dir: DataDirOption = None) -> None:
    """Every key with its role and when it was created or revoked (never a token)."""
    with _store(data_dir) as keys:
        listed = keys.listed()
    if not listed:
        typer.echo(
            "no keys: `tradegraph keys create --name NAME --role viewer|trader|admin` makes one"
        )
        return
    typer.echo(f"{'name':<24} {'role':<7} {'created (UTC)':<17} status")
    for key in listed:
        status = "active" if key.revoked_ms is None else f"revoked {_utc(key.revoked_ms)}"
        typer.echo(f"{key.name:<24} {key.role:<7} {_utc(key.created_ms):<17} {status}")


@keys_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The key's name, as `keys list` shows it.")],
    data_dir: DataDirOption = None,
) -> None:
    """Refuse a key from now on (a running server included); it stays listed."""
    with _store(data_dir) as keys:
        key = keys.revoke(name.strip())
    assert key.revoked_ms is not None  # revoke returns the key as revoked
    typer.echo(f"key {key.name} ({key.role}) revoked at {_utc(key.revoked_ms)} UTC")


def register(app: typer.Typer) -> None:
    """Add `keys` to the `tradegraph` command."""
    app.add_typer(keys_app, name="keys")


@contextmanager
def _store(data_dir: Path | None) -> Iterator[ApiKeyStore]:
    """The data directory's key store, closed after the block."""
    from core.api_keys import open_api_keys
    from core.backends import storage_for
    from core.datadir import prepare_data_dir
    from core.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    keys = open_api_keys(storage_for(settings, prepare_data_dir(settings.data_dir)))
    try:
        yield keys
    finally:
        keys.close()


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))
