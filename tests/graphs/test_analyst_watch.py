"""When a run must stop because its analyst cannot be reached, and what the summary counts."""

import pytest

from agents.base import AnalystResult
from core.types import Proposal
from graphs.analyst_watch import AnalystWatch, stop_reason

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00Z
REFUSED = "APIConnectionError: Connection error: [Errno 111] Connection refused"


def answered() -> AnalystResult:
    return AnalystResult(proposal=Proposal.hold("BTC/USDT", "flat market"))


def not_asked() -> AnalystResult:
    return AnalystResult(proposal=Proposal.hold("BTC/USDT", "warming up"), consulted=False)


def failed(kind: str = "APIConnectionError", error: str = REFUSED) -> AnalystResult:
    return AnalystResult(
        proposal=Proposal.hold("BTC/USDT", f"LLM call failed ({error})"),
        error=error,
        error_kind=kind,
    )


def feed(watch: AnalystWatch, *results: AnalystResult) -> list[str | None]:
    return [watch.observe(T0 + i * HOUR, result) for i, result in enumerate(results)]


def test_an_analyst_never_reached_stops_the_run_at_the_limit():
    watch = AnalystWatch(attempts=3)

    stops = feed(watch, not_asked(), not_asked(), failed(), failed(), failed())

    assert stops[:4] == [None] * 4
    assert stops[4] == watch.stop
    assert watch.stop.startswith(f"the analyst could not be reached ({REFUSED}) after 3 attempts")
    assert "ANTHROPIC_BASE_URL" in watch.stop and "--analyst offline" in watch.stop


def test_cycles_without_a_request_neither_count_nor_end_the_watch():
    watch = AnalystWatch(attempts=2)

    stops = feed(watch, failed(), not_asked(), not_asked(), failed())

    assert stops[-1] is not None and "after 2 attempts" in stops[-1]


def test_a_refused_key_stops_at_once():
    watch = AnalystWatch(attempts=3)
    error = "AuthenticationError 401: invalid x-api-key"

    stops = feed(watch, failed("AuthenticationError", error))

    assert stops == [watch.stop]
    assert watch.stop.startswith(f"the analyst's API key was refused ({error})")
    assert "ANTHROPIC_API_KEY" in watch.stop


def test_an_analyst_that_answered_once_is_left_to_the_breaker():
    watch = AnalystWatch(attempts=2)

    stops = feed(watch, answered(), *[failed()] * 5, failed("AuthenticationError", "401"))

    assert stops == [None] * 7
    assert watch.stop is None


@pytest.mark.parametrize("kind", ["InternalServerError", "OverloadedError", "ValueError"])
def test_a_failure_that_is_not_about_reaching_the_service_ends_the_watch(kind):
    watch = AnalystWatch(attempts=2)

    stops = feed(watch, failed(kind, f"{kind}: boom"), failed(), failed(), failed())

    assert stops == [None] * 4


def test_the_summary_counts_failures_by_kind_with_the_first_and_the_last():
    watch = AnalystWatch(attempts=10)
    overloaded = "OverloadedError 529: Overloaded"

    feed(watch, answered(), failed(), not_asked(), failed("OverloadedError", overloaded), failed())
    summary = watch.summary()

    assert summary.count == 3
    assert summary.by_kind == {"APIConnectionError": 2, "OverloadedError": 1}
    assert (summary.first.ts, summary.first.message) == ("2024-01-01T01:00:00Z", REFUSED)
    assert (summary.last.ts, summary.last.kind) == ("2024-01-01T04:00:00Z", "APIConnectionError")


def test_a_run_without_failures_has_an_empty_error_summary():
    watch = AnalystWatch(attempts=3)

    feed(watch, answered(), not_asked())

    assert watch.summary().model_dump() == {"count": 0, "by_kind": {}, "first": None, "last": None}


def test_the_decision_below_the_limit_is_to_carry_on():
    assert stop_reason("APIConnectionError", REFUSED, failures=2, attempts=3) is None
    assert stop_reason("APITimeoutError", "timed out", failures=3, attempts=3) is not None
    assert stop_reason("RateLimitError", "429", failures=9, attempts=3) is None
