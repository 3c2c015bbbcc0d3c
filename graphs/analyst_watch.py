"""The analyst across a run: its failures for the summary, and when a run must stop because
its analyst cannot be reached at all.

A run with a key and no network used to end HOLD after HOLD and exit 0. Now a run whose
analyst has never answered stops, with one line saying what to check, once it has failed
`attempts` cycles in a row for want of a connection, or at once when the key is refused. Any
answer, or any other failure (a 500 or an overload: the service is there), ends the watch;
from then on the error-rate breaker alone decides. Cycles without a request (warming up,
nothing to decide) neither count nor end it.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from agents.base import AnalystResult
from core.errors import UserError
from graphs.summary import AnalystFailure, ErrorSummary, RunSummary, iso

UNREACHABLE: Final = frozenset({"APIConnectionError", "APITimeoutError"})
"""No answer at all: refused, unknown host, no route, timed out (after the SDK's retries)."""
KEY_REFUSED: Final = frozenset({"AuthenticationError"})
"""HTTP 401: no retry or wait will make this key work."""


def stop_reason(kind: str | None, error: str, failures: int, attempts: int) -> str | None:
    """Why a run whose analyst has never answered must stop, now that it has failed `failures`
    times in a row, the last with `kind` (`error` says how); None to carry on."""
    if kind in KEY_REFUSED:
        return (
            f"the analyst's API key was refused ({error}): check ANTHROPIC_API_KEY, "
            "or use --analyst offline"
        )
    if kind in UNREACHABLE and failures >= attempts:
        return (
            f"the analyst could not be reached ({error}) after {failures} attempts: check the "
            "network, ANTHROPIC_BASE_URL (or anthropic.base_url) and the key, "
            "or use --analyst offline"
        )
    return None


class AnalystUnreachableError(UserError):
    """The run stopped because its analyst cannot be reached; `summary` covers the cycles that
    ran (their traces are written and the ledger is closed)."""

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary


class AnalystWatch:
    """Fed each cycle's analysis: counts failures by kind, and sets `stop` when the run must end
    (see the module doc). Pure: no clock, no I/O."""

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        self.reached = False
        self.in_a_row = 0
        self.stop: str | None = None
        self._kinds: Counter[str] = Counter()
        self._first: AnalystFailure | None = None
        self._last: AnalystFailure | None = None

    def observe(self, ts_ms: int, analysis: AnalystResult) -> str | None:
        """Take one cycle's analysis; the reason to stop the run now, if any."""
        if analysis.error is None:
            self.reached = self.reached or analysis.consulted
            return None
        kind = analysis.error_kind or "error"
        self._kinds[kind] += 1
        self._last = AnalystFailure(ts=iso(ts_ms), kind=kind, message=analysis.error)
        self._first = self._first or self._last
        if self.reached or kind not in UNREACHABLE | KEY_REFUSED:
            self.reached = True
            return None
        self.in_a_row += 1
        self.stop = stop_reason(kind, analysis.error, self.in_a_row, self.attempts)
        return self.stop

    def summary(self) -> ErrorSummary:
        return ErrorSummary(
            count=sum(self._kinds.values()),
            by_kind=dict(sorted(self._kinds.items())),
            first=self._first,
            last=self._last,
        )
