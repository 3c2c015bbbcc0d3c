"""`tradegraph notify test`: one test message to every channel of `[notify]`, now.

Sent directly rather than through the queue, so that each channel's answer (delivered, or why
not, with its secrets masked) is shown, and the exit code says whether all of them work.
"""

from __future__ import annotations

import os
import time

import typer
from rich.console import Console
from rich.markup import escape

from core.errors import UserError

notify_app = typer.Typer(
    help="Notifications (webhook, Telegram): send a test message.", no_args_is_help=True
)
console = Console()


@notify_app.command("test")
def test() -> None:
    """Send a test message to every configured channel, ignoring their filters."""
    from core.notifications import test_notice
    from core.settings import load_settings
    from tools.notify import DeliveryError, open_channels

    settings = load_settings()
    if not settings.notify.channels:
        raise UserError(
            "no notification channel configured: add a [[notify.channels]] table to "
            "tradegraph.toml (see the README's Notifications)"
        )
    client, channels = open_channels(settings.notify, os.environ)
    failed = 0
    try:
        notice = test_notice(time.time_ns() // 1_000_000)
        for config, channel in channels:
            try:
                channel.send(notice)
            except DeliveryError as exc:
                failed += 1
                console.print(
                    f"[red]failed[/] {escape(config.name)} ({config.kind}): {escape(str(exc))}"
                )
            else:
                console.print(f"[green]sent[/] {escape(config.name)} ({config.kind})")
    finally:
        if client is not None:
            client.close()
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `notify` to the `tradegraph` command."""
    app.add_typer(notify_app, name="notify")
