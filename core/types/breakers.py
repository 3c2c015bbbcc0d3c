"""Circuit-breaker vocabulary shared by the board, the traces and the summaries.

A breaker holds trading back in one of three stages, from the lightest: smaller opening sizes,
exits only, nothing new. What it demands this cycle is a BreakerDemand; when it trips into a
stage or resets out of it, or a person halts or resumes, that is a BreakerEvent. Both carry the
breaker, the stage and the reason as fields, so nothing needs to read the reason's words.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

EventKind = Literal["trip", "reset", "halt", "resume"]
"""trip: a breaker engaged or went a stage up; reset: it lifted or went down by itself;
halt, resume: a person (or the CLI) acted."""


class BreakerStage(StrEnum):
    """How hard a breaker holds trading back."""

    SIZE_CUT = "size_cut"
    """Opening sizes scaled down; trading stays ACTIVE (the first drawdown stage)."""
    REDUCING = "reducing"
    """Exits only."""
    HALT = "halt"
    """Nothing new is sent."""


class BreakerDemand(BaseModel):
    """A breaker holding trading back this cycle: which one, how hard, and why (in words an
    operator can act on)."""

    model_config = ConfigDict(frozen=True)

    breaker: str
    stage: BreakerStage
    reason: str


class BreakerEvent(BaseModel):
    """One trip, reset, manual halt or resume, for the audit trace. `stage` is the stage a trip
    or halt entered, or the one a reset or resume left."""

    model_config = ConfigDict(frozen=True)

    ts: int
    kind: EventKind
    breaker: str
    stage: BreakerStage
    reason: str
    account: str = ""
