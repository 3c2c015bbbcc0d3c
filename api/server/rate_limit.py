"""Per-key rate limits: a token bucket for each API key's name.

A key may send `burst` requests at once and `rate` a second after that; a request over the
limit is 429 in the JSON error body with `Retry-After` (whole seconds) saying when one more
will be let through. Buckets are per key name, so every client sharing a key shares its limit.
Reads and changes have buckets of their own (`[server]` settings): a change costs more, so
its bucket is smaller (`WRITE_LIMIT`), shared by every mutating route.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from fastapi import Request

from api.server.auth import ApiKeyHeaderValue, BearerCredentials, Caller
from api.server.errors import ApiError

DEFAULT_RATE: Final = 20.0
DEFAULT_BURST: Final = 40
DEFAULT_WRITE_RATE: Final = 2.0
DEFAULT_WRITE_BURST: Final = 10


@dataclass(frozen=True)
class RateLimit:
    rate: float = DEFAULT_RATE
    """Requests a second a key may send, once its burst is spent."""
    burst: int = DEFAULT_BURST
    """Requests a key may send at once."""

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"a rate limit needs rate > 0 and burst >= 1, got {self}")


WRITE_LIMIT: Final = RateLimit(rate=DEFAULT_WRITE_RATE, burst=DEFAULT_WRITE_BURST)
"""The mutating routes' limit per key unless `[server]` says otherwise."""
FAILED_SIGN_IN_LIMIT: Final = RateLimit(rate=0.5, burst=10)
"""Failed dashboard sign-ins a client address may make (there is no key to count them by):
10 at once, then one every 2 s; a sign-in that succeeds costs nothing."""


class KeyBuckets:
    """One token bucket per key name; thread-safe."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def blocked_for(self, name: str) -> float:
        """The seconds until `name`'s bucket has a token (0: it has one), taking none."""
        now = self._clock()
        with self._lock:
            tokens = self._refilled(name, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.limit.rate

    def wait(self, name: str) -> float:
        """Take a token of `name`'s bucket: 0 if there was one, else the seconds until one."""
        now = self._clock()
        with self._lock:
            tokens = self._refilled(name, now)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - 1.0, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / self.limit.rate

    def _refilled(self, name: str, now: float) -> float:
        """The tokens in `name`'s bucket at `now` (a new bucket is full); under `_lock`."""
        tokens, then = self._buckets.get(name, (float(self.limit.burst), now))
        return min(float(self.limit.burst), tokens + (now - then) * self.limit.rate)

    def take(self, name: str) -> None:
        """A token of `name`'s bucket, or ApiError 429 with Retry-After."""
        wait = self.wait(name)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429,
                "rate_limited",
                f"key {name!r} sent more than {self.limit.burst} requests at once or "
                f"{self.limit.rate:g} a second: retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )


def limited(
    caller: Callable[..., Awaitable[Caller]], buckets: KeyBuckets
) -> Callable[..., Awaitable[Caller]]:
    """A route dependency: `caller` (`api.server.auth.caller_with`), then a token of the
    caller's bucket in `buckets`."""

    async def limited_caller(
        request: Request, bearer: BearerCredentials, api_key: ApiKeyHeaderValue
    ) -> Caller:
        who = await caller(request, bearer, api_key)
        buckets.take(who.name)
        return who

    return limited_caller
