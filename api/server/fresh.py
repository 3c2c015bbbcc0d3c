"""Ready answers: a read that many clients repeat is computed once per change of its stores.

An operator's dashboard polls the same portfolio and decisions from every open tab, and each
computation opens the ledger or walks the decision index, then validates and encodes a
model, after FastAPI has solved the route's dependencies and parsed its query. A route of
`kept_route(answers)` keeps each 200 answer as the bytes sent, by path and query string,
stamped with the stores' version (`core.store_version`) read before it was computed. The
same request is then answered with those bytes, before any of that work, while the stamp is
unchanged and the answer younger than the route's `max_age` (a portfolio's marks move with
the market while its ledger stands still): a new decision, a fill or a halt moves the stamp,
so it shows in the very next answer. Where the stores give no stamp (a database server, a
busy file), an answer is kept at most `UNSTAMPED_S`.

A kept answer is sent only to a key (a header's, or a dashboard session's) that the key store
remembers as live (`ApiKeyStore.remembered`: a revocation is seen at once), and takes a token
of its bucket as the route would; any other request (no key, an unknown or revoked key, a
spent bucket) goes through the route, which refuses it as usual. So `kept_route` serves only
routes open to every key role (viewer up).

While one request computes an answer, the others for it wait for it rather than computing
it; an answer with a max age is computed again by one request once past half of it, while
the others are still sent the kept one, so a steady stream of requests never waits on an
expiry.

`Fresh` is the plain form, for answers that are not a route's bytes (the dashboard's panels):
each kept for `seconds`, computed by one thread while the others wait for it.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from api.server.auth import KeyLookup, session_token, token_from
from api.server.rate_limit import KeyBuckets

UNSTAMPED_S: Final = 1.0
RENEW_AT: Final = 0.5
"""Past this fraction of its max age, the next request for an answer computes it again
while the others are still sent the one kept: a steady stream never waits on an expiry."""
MAX_KEPT_BYTES: Final = 32 * 1024 * 1024
"""The most the kept answers may hold together (a page of 500 decisions is about 90 kB);
past it, all are dropped and computed again as they are asked."""

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
T = TypeVar("T")


@dataclass(frozen=True)
class _Kept:
    stamp: Hashable | None
    at: float
    body: bytes
    media_type: str | None


class FreshAnswers:
    """The answers of the routes built with `kept_route(self)`, while `stamp()` (cheap: it
    runs on the event loop) is unchanged, for the keys of `keys`, on `buckets`."""

    def __init__(
        self,
        stamp: Callable[[], Hashable | None],
        keys: KeyLookup,
        buckets: KeyBuckets,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stamp = stamp
        self._keys = keys
        self._buckets = buckets
        self._clock = clock
        self._kept: dict[Hashable, _Kept] = {}
        self._kept_bytes = 0
        self._computing: dict[Hashable, asyncio.Event] = {}

    async def answer(self, request: Request, route: Handler, max_age: float) -> Response:
        """The answer kept for `request`, else the route's (kept when it is a 200)."""
        key = (request.scope["path"], request.scope["query_string"])
        kept, aged = self._valid(key, max_age)
        renewing = aged and key not in self._computing
        if kept is not None and not renewing and self._lets_through(request):
            return Response(kept.body, media_type=kept.media_type)
        computing = self._computing.get(key)
        if kept is None and computing is not None:
            await computing.wait()
            kept, _ = self._valid(key, max_age)
            if kept is not None and self._lets_through(request):
                return Response(kept.body, media_type=kept.media_type)
        done = self._computing.setdefault(key, asyncio.Event())
        stamp, at = self._stamp(), self._clock()
        try:
            response = await route(request)
            if response.status_code == 200:
                self._keep(key, _Kept(stamp, at, bytes(response.body), response.media_type))
        finally:
            if self._computing.get(key) is done:
                del self._computing[key]
            done.set()
        return response

    def _keep(self, key: Hashable, kept: _Kept) -> None:
        replaced = self._kept.pop(key, None)
        self._kept_bytes -= 0 if replaced is None else len(replaced.body)
        if self._kept_bytes + len(kept.body) > MAX_KEPT_BYTES:
            self._kept.clear()
            self._kept_bytes = 0
        self._kept[key] = kept
        self._kept_bytes += len(kept.body)

    def _valid(self, key: Hashable, max_age: float) -> tuple[_Kept | None, bool]:
        """The answer kept for `key` if it may still be sent, and whether it is past
        `RENEW_AT` of its age (the next request computes it again, the others are sent it)."""
        kept = self._kept.get(key)
        if kept is None:
            return None, False
        stamp = self._stamp()
        limit = max_age if stamp is not None else min(max_age, UNSTAMPED_S)
        age = self._clock() - kept.at
        if kept.stamp != stamp or age >= limit:
            return None, False
        return kept, age >= limit * RENEW_AT

    def _lets_through(self, request: Request) -> bool:
        """Whether the request's key is one the store remembers as live, and its bucket
        had a token (taken)."""
        headers = request.headers
        token = token_from(headers.get("authorization"), headers.get("x-api-key"))
        token = token or session_token(request)
        caller = None if token is None else self._keys.remembered(token)
        return caller is not None and self._buckets.wait(caller.name) == 0


def kept_route(answers: FreshAnswers, max_age: float = math.inf) -> type[APIRoute]:
    """A route class whose answers `answers` keeps, each at most `max_age` seconds."""

    class KeptRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            route = super().get_route_handler()

            async def answered(request: Request) -> Response:
                return await answers.answer(request, route, max_age)

            return answered

    return KeptRoute


class Fresh(Generic[T]):
    """Answers kept `seconds` each (what a client sees is at most that old); thread-safe."""

    def __init__(self, seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._kept: dict[Hashable, tuple[float, Hashable | None, T]] = {}

    def get(self, key: Hashable, compute: Callable[[], T], stamp: Hashable | None = None) -> T:
        """The answer kept for `key` if it is fresh (younger than `seconds` and computed under
        the same `stamp`, the version of the stores it was read from), else `compute()`'s
        (kept): a halt or a fill moves the stamp, so it shows in the next answer."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            kept = self._kept.get(key)
            if kept is not None and kept[1] == stamp and self._clock() - kept[0] < self.seconds:
                return kept[2]
            answer = compute()
            self._kept[key] = (self._clock(), stamp, answer)
            return answer
