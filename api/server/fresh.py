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
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final

import anyio
from pydantic import BaseModel
from starlette.responses import Response

UNSTAMPED_S: Final = 1.0
MAX_KEPT: Final = 4_096
"""Answers kept at most (distinct queries); past it, all are dropped and computed again."""


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

    async def answer(
        self, key: Hashable, compute: Callable[[], BaseModel], *, max_age: float = math.inf
    ) -> Response:
        """The JSON of `compute()` (run on a worker thread) for `key`, or the one kept."""
        body = self._fresh(key, self._stamp(), max_age)
        if body is None:
            lock = self._computing.setdefault(key, asyncio.Lock())
            async with lock:
                stamp = self._stamp()
                body = self._fresh(key, stamp, max_age)
                if body is None:
                    body = await anyio.to_thread.run_sync(_encoded, compute)
                    if len(self._kept) >= MAX_KEPT:
                        self._kept.clear()
                        self._computing = {key: lock}
                    self._kept[key] = _Kept(stamp, self._clock(), body)
        return Response(body, media_type="application/json")

    def _fresh(self, key: Hashable, stamp: Hashable | None, max_age: float) -> bytes | None:
        kept = self._kept.get(key)
        if kept is None or kept.stamp != stamp:
            return None
        limit = max_age if stamp is not None else min(max_age, UNSTAMPED_S)
        return kept.body if self._clock() - kept.at < limit else None


def _encoded(compute: Callable[[], BaseModel]) -> bytes:
    return compute().model_dump_json().encode()
