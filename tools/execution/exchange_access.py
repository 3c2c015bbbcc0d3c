"""Opening a ccxt exchange for the sandbox or live broker, only through the mode guard.

`open_exchange` asks `core.execution_mode` first, so a refused live run never creates an
exchange object, let alone a socket. ccxt's own rate limiter is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ccxt

from core.errors import UserError
from core.execution_mode import allowed_exchange_access
from core.market.exchange import make_exchange
from core.settings import ExecutionSettings


def open_exchange(
    broker: str,
    settings: ExecutionSettings,
    *,
    live_confirmed: bool,
    exchange_urls: Mapping[str, str] | None = None,
) -> Any:
    """A keyed ccxt exchange (sandbox mode for "sandbox"), or None for paper; refusals are one
    UserError line, raised before anything is created. `exchange_urls` (the setting) serves an
    exchange from another base URL: a proxy, or a local test exchange."""
    access = allowed_exchange_access(broker, settings, live_confirmed=live_confirmed)
    if access is None:
        return None
    exchange = make_exchange(
        access.exchange,
        None,
        apiKey=access.api_key.get_secret_value(),
        secret=access.secret.get_secret_value(),
    )
    if access.sandbox:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt.NotSupported:
            raise UserError(f"{access.exchange} has no sandbox: use paper") from None
    base_url = (exchange_urls or {}).get(access.exchange)
    if base_url is not None:  # after set_sandbox_mode, which swaps the URL tables
        from core.market.exchange import rebase_urls

        rebase_urls(exchange, base_url)
    return exchange
