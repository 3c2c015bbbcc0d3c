"""The typed state that flows through one decision cycle."""

from __future__ import annotations

from typing import Annotated, TypedDict

from agents.base import AnalystResult
from core.types import (
    BreakerEvent,
    BreakerSnapshot,
    ClosedPosition,
    Features,
    Fill,
    MarketSnapshot,
    Order,
    RecalledLesson,
    RecalledSituation,
    Trace,
    Verdict,
)


def merge_latency(left: dict[str, float], right: dict[str, float]) -> dict[str, float]:
    return {**left, **right}


class CycleState(TypedDict, total=False):
    seq: int
    snapshot: MarketSnapshot
    fills: list[Fill]
    closed: list[ClosedPosition]
    breakers: BreakerSnapshot
    breaker_events: list[BreakerEvent]
    features: Features
    recalled: tuple[RecalledSituation, ...]
    lessons: tuple[RecalledLesson, ...]
    analysis: AnalystResult
    verdict: Verdict
    flatten: bool
    order: Order | None
    trace: Trace
    latency_ms: Annotated[dict[str, float], merge_latency]
