"""Calls to a ccxt exchange: network faults retried with exponential backoff and jitter
within a deadline, each "not available" answer reported for the error-rate breaker, and what
outlasts the deadline raised as our typed errors, their text cleaned of the API key and
secret (`tools.execution.ccxt_broker` sends its orders through it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import ccxt
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

from core.errors import BrokerError
from tools.execution.exchange_trades import redact

log = logging.getLogger(__name__)

ERROR_SOURCE = "exchange"


class ExchangeUnavailableError(BrokerError):
    """The exchange answered "not available" (5xx, maintenance) until the deadline passed;
    each such answer was reported to `on_error` already."""

    counts_as_error = False


class ExchangeUnreachableError(BrokerError):
    """Timeouts, dropped connections or rate limits outlasted the deadline."""


class OrderRejectedError(BrokerError):
    """The exchange refused the order (recorded as rejected in the ledger, with the reason)."""

    counts_as_error = False


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, from `initial_s` up to `max_s`, for `deadline_s`."""

    initial_s: float = 0.2
    max_s: float = 5.0
    deadline_s: float = 30.0


ErrorSink = Callable[[str, str], None]
"""Called with (source, detail) for each failure the error-rate breaker should count."""


class ExchangeCalls:
    """One exchange's calls, retried under `retry`; `sleep` waits between attempts."""

    def __init__(
        self,
        exchange: Any,
        retry: RetryPolicy,
        on_error: ErrorSink | None,
        sleep: Callable[[float], None],
    ) -> None:
        self._exchange = exchange
        self._retry = retry
        self._on_error = on_error
        self._sleep = sleep

    def retrying(self) -> Retrying:
        """Attempts of one call: network faults retried with backoff within the deadline."""
        policy = self._retry
        return Retrying(
            retry=retry_if_exception_type(ccxt.NetworkError),
            wait=wait_exponential_jitter(
                multiplier=policy.initial_s, max=policy.max_s, jitter=policy.initial_s
            ),
            stop=stop_after_delay(policy.deadline_s),
            sleep=self._sleep,
            before_sleep=self._note_failure,
            reraise=True,
        )

    def call(self, method: Callable[..., Any], *args: Any) -> Any:
        """`method(*args)` with network faults retried; what outlasts the deadline is typed."""
        try:
            for attempt in self.retrying():
                with attempt:
                    return method(*args)
        except ccxt.OrderNotFound:
            raise  # an answer, not a failure: the caller decides what it means
        except ccxt.BaseError as exc:
            self.raise_typed(exc)
        raise AssertionError("unreachable: tenacity reraises the last failure")

    def _note_failure(self, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        detail = self.clean(f"{type(failure).__name__}: {failure}")
        log.warning("exchange call failed (attempt %d), retrying: %s", state.attempt_number, detail)
        if isinstance(failure, ccxt.ExchangeNotAvailable) and self._on_error is not None:
            self._on_error(ERROR_SOURCE, detail)

    def raise_typed(self, exc: ccxt.BaseError) -> NoReturn:
        """A ccxt failure as our typed error, its text cleaned of secrets (and not chained, so
        a traceback shows nothing the cleaning missed)."""
        detail = self.clean(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, ccxt.ExchangeNotAvailable):
            if self._on_error is not None:
                self._on_error(ERROR_SOURCE, detail)
            raise ExchangeUnavailableError(f"exchange not available: {detail}") from None
        if isinstance(exc, ccxt.NetworkError):
            raise ExchangeUnreachableError(f"exchange unreachable: {detail}") from None
        raise BrokerError(f"exchange error: {detail}") from None

    def clean(self, text: str) -> str:
        """`text` with the API key and secret cut out."""
        return redact(text, (self._exchange.apiKey, self._exchange.secret))
