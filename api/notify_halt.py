"""A halt, told to the `[notify]` channels by whoever engaged it (the CLI, the REST API).

Called after the halt is engaged: a channel that cannot be opened or reached never stands in
its way. The notice is queued and flushed within `close_timeout_seconds`.
"""

from __future__ import annotations

import os
import time

from core.errors import UserError
from core.notifications import halt_notice
from core.settings import Settings
from tools.notify import open_notifications


def tell_halt(settings: Settings, account: str | None, reason: str) -> str | None:
    """None once the halt is handed to the channels; else why it could not be (one line)."""
    try:
        with open_notifications(settings.notify, os.environ) as notifier:
            notifier.notify(halt_notice(account, reason, time.time_ns() // 1_000_000))
    except UserError as exc:
        return str(exc)
    return None
