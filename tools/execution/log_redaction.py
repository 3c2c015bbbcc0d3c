"""Keeping exchange keys out of logs that are not ours.

ccxt logs every request's headers at DEBUG, the API key included (`X-MBX-APIKEY` on Binance),
so anyone running with DEBUG logging would write the key to their log files. The filter below
sits on ccxt's and urllib3's loggers and replaces any registered secret in a record's text.
"""

from __future__ import annotations

import logging
import threading

from tools.execution.exchange_trades import redact

NOISY_LOGGERS = (
    "ccxt.base.exchange",
    "ccxt.async_support.base.exchange",
    "ccxt",
    "urllib3.connectionpool",
    "aiohttp.client",
)


class SecretRedactingFilter(logging.Filter):
    """Rewrites a record whose text holds a registered secret, with the secret replaced."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def register(self, *secrets: str | None) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = tuple(self._secrets)
        if secrets:
            message = record.getMessage()
            cleaned = redact(message, secrets)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


_FILTER = SecretRedactingFilter()
for _name in NOISY_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


def keep_out_of_logs(*secrets: str | None) -> None:
    """Register secrets (an exchange's key and secret) to be redacted from library logs."""
    _FILTER.register(*secrets)
