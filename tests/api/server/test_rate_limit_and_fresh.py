"""Token buckets per key name, and answers kept while the stores' stamp stands (and at most
their max age), on a clock and a stamp the test moves."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from api.server.errors import ApiError
from api.server.fresh import FreshAnswers
from api.server.rate_limit import KeyBuckets, RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_key_spends_its_burst_then_waits_for_the_rate() -> None:
    clock = Clock()
    buckets = KeyBuckets(RateLimit(rate=2.0, burst=3), clock)

    spent = [buckets.wait("viewer") for _ in range(3)]
    over = buckets.wait("viewer")
    clock.now = 0.5
    refilled = buckets.wait("viewer")

    assert spent == [0.0, 0.0, 0.0] and over == pytest.approx(0.5)
    assert refilled == 0.0 and buckets.wait("trader") == 0.0


def test_over_the_limit_is_429_with_retry_after_in_whole_seconds() -> None:
    buckets = KeyBuckets(RateLimit(rate=0.25, burst=1), Clock())
    buckets.take("viewer")

    with pytest.raises(ApiError) as refused:
        buckets.take("viewer")

    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "4"}


def test_a_rate_limit_needs_a_positive_rate_and_burst() -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        RateLimit(rate=0, burst=1)


class Stamp:
    def __init__(self) -> None:
        self.value: int | None = 1

    def __call__(self) -> int | None:
        return self.value


def _counting(computed: list[int]) -> Callable[[], BaseModel]:
    def compute() -> BaseModel:
        computed.append(len(computed) + 1)
        return Counted(n=len(computed))

    return compute


class Counted(BaseModel):
    n: int


async def _sent(
    fresh: FreshAnswers, key: str, computed: list[int], max_age: float = math.inf
) -> int:
    response = await fresh.answer(key, _counting(computed), max_age=max_age)
    assert response.media_type == "application/json"
    return int(json.loads(bytes(response.body))["n"])


def test_an_answer_is_sent_again_until_the_stores_stamp_moves() -> None:
    clock, stamp, computed = Clock(), Stamp(), []
    fresh = FreshAnswers(stamp, clock)

    async def sent() -> list[int]:
        first, again = await _sent(fresh, "ops", computed), await _sent(fresh, "ops", computed)
        clock.now = 3600.0
        an_hour_later = await _sent(fresh, "ops", computed)
        stamp.value = 2
        after_a_write = await _sent(fresh, "ops", computed)
        return [first, again, an_hour_later, after_a_write, await _sent(fresh, "other", computed)]

    assert asyncio.run(sent()) == [1, 1, 1, 2, 3]


def test_an_answer_is_kept_at_most_its_max_age_and_renewed_past_half_of_it() -> None:
    clock, computed = Clock(), []
    fresh = FreshAnswers(Stamp(), clock)

    async def sent() -> list[int]:
        first = await _sent(fresh, "portfolio", computed, max_age=1.0)
        clock.now = 0.6
        aged = await _sent(fresh, "portfolio", computed, max_age=1.0)
        await asyncio.sleep(0.1)  # the renewal runs on a worker thread meanwhile
        renewed = await _sent(fresh, "portfolio", computed, max_age=1.0)
        clock.now = 2.0
        return [first, aged, renewed, await _sent(fresh, "portfolio", computed, max_age=1.0)]

    assert asyncio.run(sent()) == [1, 1, 2, 3]


def test_without_a_stamp_an_answer_is_kept_at_most_a_second() -> None:
    clock, stamp, computed = Clock(), Stamp(), []
    stamp.value = None
    fresh = FreshAnswers(stamp, clock)

    async def sent() -> list[int]:
        first, again = await _sent(fresh, "ops", computed), await _sent(fresh, "ops", computed)
        clock.now = 1.0
        return [first, again, await _sent(fresh, "ops", computed)]

    assert asyncio.run(sent()) == [1, 1, 2]
