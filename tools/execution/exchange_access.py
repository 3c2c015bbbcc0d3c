"""Opening a ccxt exchange for the sandbox or live broker, only through the mode guard.

`open_exchange` asks `core.execution_mode` first, so a refused live run never creates an
exchange object, let alone a socket. ccxt's own rate limiter is on.
"""

from __future__ import annotations

from typing import Any

import ccxt

from core.errors import UserError
from core.execution_mode import allowed_exchange_access
from core.settings import ExecutionSettings


def open_exchange(broker: str, settings: ExecutionSettings, *, live_confirmed: bool) -> Any:
    """A keyed ccxt exchange (sandbox mode for "sandbox"), or None for paper; refusals are one
    UserError line, raised before anything is created."""
    access = allowed_exchange_access(broker, settings, live_confirmed=live_confirmed)
    if access is None:
        return None
    exchange_class = getattr(ccxt, access.exchange, None)
    if not isinstance(exchange_class, type) or access.exchange not in ccxt.exchanges:
        raise UserError(f"unknown exchange {access.exchange!r}: name a ccxt exchange id")
    exchange = exchange_class(
        {
            "apiKey": access.api_key.get_secret_value(),
            "secret": access.secret.get_secret_value(),
            "enableRateLimit": True,
        }
    )
    if access.sandbox:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt.NotSupported:
            raise UserError(f"{access.exchange} has no sandbox: use paper") from None
    return exchange
