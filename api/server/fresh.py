"""Ready answers: a read that many clients repeat is computed once per change of its stores.

An operator's dashboard polls the same portfolio and decisions from every open tab, and each
computation opens the ledger or walks the decision index, then validates and encodes a
model. `FreshAnswers` keeps each answer as the JSON bytes sent, stamped with the stores'
version (`core.store_version`) read before it was computed: an answer is sent again only
while the stamp is unchanged, so a new decision, a fill or a halt shows in the next answer.
An answer may also have a `max_age` (a portfolio's marks move with the market while its
ledger stands still). Where the stores give no stamp (a database server, a busy file), an
answer is kept at most `UNSTAMPED_S`. One computation per key runs at a time; the other
requests for it wait for its answer rather than computing it again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final

import anyio
from pydantic import BaseModel
from starlette.responses import Response

from graphs.chat.desk_base import one_line_reason

UNSTAMPED_S: Final = 1.0
RENEW_AT: Final = 0.5
"""Past this fraction of its max age, an answer is computed again in the background."""
MAX_KEPT: Final = 4_096
"""Answers kept at most (distinct queries); past it, all are dropped and computed again."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Kept:
    stamp: Hashable | None
    at: float
    body: bytes


class FreshAnswers:
    """JSON answers kept by key while `stamp()` (cheap: it runs on the event loop) is
    unchanged and they are younger than their `max_age`."""

    def __init__(
        self,
        stamp: Callable[[], Hashable | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stamp = stamp
        self._clock = clock
        self._kept: dict[Hashable, _Kept] = {}
        self._computing: dict[Hashable, asyncio.Lock] = {}
        self._renewing: set[Hashable] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def answer(
        self, key: Hashable, compute: Callable[[], BaseModel], *, max_age: float = math.inf
    ) -> Response:
        """The JSON of `compute()` (run on a worker thread) for `key`, or the one kept. An
        answer past half its age is computed again in the background while it is still sent,
        so a steady stream of requests never waits for one that merely aged."""
        stamp, kept = self._stamp(), self._kept.get(key)
        if kept is not None and kept.stamp == stamp:
            age, limit = self._clock() - kept.at, self._limit(max_age, stamp)
            if age < limit:
                if age >= limit * RENEW_AT and key not in self._renewing:
                    self._renewing.add(key)
                    task = asyncio.create_task(self._renew(key, compute, max_age))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                return Response(kept.body, media_type="application/json")
        body = await self._computed(key, compute, max_age)
        return Response(body, media_type="application/json")

    async def _computed(
        self,
        key: Hashable,
        compute: Callable[[], BaseModel],
        max_age: float,
        *,
        renew: bool = False,
    ) -> bytes:
        """The answer kept for `key` if a request before this one computed it meanwhile
        (unless `renew`), else `compute()`'s, kept with the stamp and time read before."""
        lock = self._computing.setdefault(key, asyncio.Lock())
        async with lock:
            stamp, now = self._stamp(), self._clock()
            kept = self._kept.get(key)
            if (
                not renew
                and kept is not None
                and kept.stamp == stamp
                and now - kept.at < self._limit(max_age, stamp)
            ):
                return kept.body
            body = await anyio.to_thread.run_sync(_encoded, compute)
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
                self._computing = {key: lock}
            self._kept[key] = _Kept(stamp, now, body)
            return body

    async def _renew(self, key: Hashable, compute: Callable[[], BaseModel], max_age: float) -> None:
        try:
            await self._computed(key, compute, max_age, renew=True)
        except Exception as error:  # the request that computes it once it expires says why
            log.warning("an answer could not be computed ahead: %s", one_line_reason(error))
        finally:
            self._renewing.discard(key)

    @staticmethod
    def _limit(max_age: float, stamp: Hashable | None) -> float:
        return max_age if stamp is not None else min(max_age, UNSTAMPED_S)


def _encoded(compute: Callable[[], BaseModel]) -> bytes:
    return compute().model_dump_json().encode()
