"""A kept route answers again with the bytes it sent while the stores' stamp stands (and at
most its max age), only to a key the store remembers as live and whose bucket has a token;
on a clock, a stamp and keys the test moves (the route is served in process)."""

from __future__ import annotations

import math

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from api.server import fresh
from api.server.auth import caller_with
from api.server.errors import install_error_handlers
from api.server.fresh import Fresh, FreshAnswers, kept_route
from api.server.rate_limit import KeyBuckets, RateLimit, limited
from core.api_keys import ApiKey

TOKEN = "tg_viewer"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Stamp:
    def __init__(self) -> None:
        self.value: int | None = 1

    def __call__(self) -> int | None:
        return self.value


class Keys:
    """One viewer key, remembered once looked up, until it is revoked."""

    def __init__(self) -> None:
        self.live = True
        self.looked_up = False

    def lookup(self, token: str) -> ApiKey | None:
        self.looked_up = self.live and token == TOKEN
        return ApiKey(name="viewer", role="viewer", created_ms=0) if self.looked_up else None

    def remembered(self, token: str) -> ApiKey | None:
        return self.lookup(token) if self.looked_up and self.live else None


class Served:
    def __init__(self, max_age: float = math.inf, rate: RateLimit | None = None) -> None:
        self.clock, self.stamp, self.keys, self.computed = Clock(), Stamp(), Keys(), 0
        buckets = KeyBuckets(rate or RateLimit(rate=1e6, burst=1_000_000), self.clock)
        answers = FreshAnswers(self.stamp, self.keys, buckets, self.clock)
        viewer = limited(caller_with(self.keys, "viewer", "reading"), buckets)
        router = APIRouter(dependencies=[Depends(viewer)])

        def count() -> dict[str, int]:
            self.computed += 1
            return {"n": self.computed}

        router.add_api_route(
            "/n", count, methods=["GET"], route_class_override=kept_route(answers, max_age)
        )
        app = FastAPI()
        install_error_handlers(app)
        app.include_router(router)
        self.client = TestClient(app, headers={"X-API-Key": TOKEN})

    def n(self, query: str = "") -> int | str:
        response = self.client.get(f"/n{query}")
        return int(response.json()["n"]) if response.status_code == 200 else response.status_code


def test_an_answer_is_sent_again_until_the_stores_stamp_moves() -> None:
    served = Served()

    first, again = served.n(), served.n()
    served.clock.now = 3600.0
    an_hour_later = served.n()
    served.stamp.value = 2

    assert [first, again, an_hour_later, served.n(), served.n("?other=1")] == [1, 1, 1, 2, 3]


def test_an_answer_is_kept_at_most_its_max_age_and_renewed_past_half_of_it() -> None:
    served = Served(max_age=1.0)

    first = served.n()
    served.clock.now = 0.4
    again = served.n()
    served.clock.now = 0.6
    renewed, kept = served.n(), served.n()
    served.clock.now = 1.6

    assert [first, again, renewed, kept, served.n()] == [1, 1, 2, 2, 3]


def test_without_a_stamp_an_answer_is_kept_at_most_a_second() -> None:
    served = Served()
    served.stamp.value = None

    first, again = served.n(), served.n()
    served.clock.now = 1.0

    assert [first, again, served.n()] == [1, 1, 2]


def test_a_revoked_key_gets_no_kept_answer() -> None:
    served = Served()
    served.n()
    served.keys.live = False

    assert served.n() == 401


def test_a_kept_answer_takes_a_token_of_the_keys_bucket() -> None:
    served = Served(rate=RateLimit(rate=0.001, burst=3))

    assert [served.n(), served.n(), served.n(), served.n()] == [1, 1, 1, 429]


def test_the_kept_answers_are_dropped_past_their_byte_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fresh, "MAX_KEPT_BYTES", 20)
    served = Served()

    first, other = served.n("?a=1"), served.n("?b=1")  # about 8 bytes each: both kept
    again, third = served.n("?a=1"), served.n("?c=1")  # the third is over: all dropped

    assert [first, other, again, third, served.n("?a=1")] == [1, 2, 1, 3, 4]


def test_a_plain_answer_is_kept_for_its_seconds_then_computed_again() -> None:
    clock, computed = Clock(), []
    kept: Fresh[int] = Fresh(1.0, clock)

    def compute() -> int:
        computed.append(clock.now)
        return len(computed)

    first, again = kept.get("ops", compute), kept.get("ops", compute)
    clock.now = 1.0
    later = kept.get("ops", compute)

    assert (first, again, later) == (1, 1, 2) and kept.get("other", compute) == 3


def test_a_plain_answer_computed_under_another_stamp_is_computed_again_at_once() -> None:
    clock, computed = Clock(), []
    kept: Fresh[int] = Fresh(60.0, clock)

    def compute() -> int:
        computed.append(clock.now)
        return len(computed)

    first = kept.get("risk", compute, stamp=(1,))
    same = kept.get("risk", compute, stamp=(1,))
    after_a_halt = kept.get("risk", compute, stamp=(2,))

    assert (first, same, after_a_halt) == (1, 1, 2)
