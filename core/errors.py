"""Errors a user can fix: the CLI prints their message as one line and exits non-zero."""


class UserError(Exception):
    """A mistake in the user's input or environment, explained in one line with what to do."""

    exit_code = 2


class DataError(UserError):
    """Market data that cannot be used as it is (missing, malformed, unsorted, out of window)."""


class ReplayMismatchError(UserError):
    """A replay asked for an LLM request its cassette does not hold: the run stops, naming it,
    because carrying on would compare a different conversation than the one recorded."""


class BrokerError(Exception):
    """An exchange failure the engine survives: the cycle records it (the error-rate breaker
    counts it) and goes on. Its message holds no secret."""

    source = "exchange"
    counts_as_error = True
    """Whether the engine reports it to the error-rate breaker (a refusal is an answer, not an
    outage; an outage the broker already reported is not counted twice)."""
