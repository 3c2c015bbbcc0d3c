"""Token buckets per key name, on a clock the test moves."""

from __future__ import annotations

import pytest

from api.server.errors import ApiError
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
