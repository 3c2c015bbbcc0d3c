"""Errors a user can fix: the CLI prints their message as one line and exits non-zero."""


class UserError(Exception):
    """A mistake in the user's input or environment, explained in one line with what to do."""

    exit_code = 2


class DataError(UserError):
    """Market data that cannot be used as it is (missing, malformed, unsorted, out of window)."""


class ReplayMismatchError(UserError):
    """A replay asked for an LLM request its cassette does not hold: the run stops, naming it,
    because carrying on would compare a different conversation than the one recorded."""
