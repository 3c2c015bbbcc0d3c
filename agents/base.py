"""The analyst port: a brief in, a typed proposal (and how it was reached) out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from core.market.history import MarketHistory
from core.types import Brief, Proposal, RecalledSituation


class LlmUsage(BaseModel):
    """What a cycle's LLM calls consumed; summed over cycles for the run summary."""

    model_config = ConfigDict(frozen=True)

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: LlmUsage) -> LlmUsage:
        return LlmUsage(
            requests=self.requests + other.requests,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
        )

    @property
    def tokens(self) -> int:
        """Every token billed: fresh input, cache writes and reads, output."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_creation_tokens
        )


class BudgetStop(BaseModel):
    """An LLM budget that ran out: `run` holds until resume, `day` until the next UTC day."""

    model_config = ConfigDict(frozen=True)

    scope: Literal["run", "day"]
    reason: str


class AnalystResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal: Proposal
    model: str | None = None
    prompt_version: str | None = None
    messages: tuple[dict[str, Any], ...] = ()
    usage: LlmUsage = LlmUsage()
    error: str | None = None
    """Set when the analyst failed (API error, timeout): one line saying what went wrong, with
    no secret in it. It counts toward the error-rate breaker and the run summary's errors."""
    error_kind: str | None = None
    """The failure's kind, the exception's class name (e.g. APIConnectionError)."""
    consulted: bool = True
    """False when the analyst decided without asking its model (warming up, nothing to decide,
    budget spent): such a cycle is neither a failure nor proof that the model can be reached."""
    budget_exhausted: BudgetStop | None = None
    """Set when a run or day LLM budget is spent: the cycle is HOLD and the budget breaker trips."""
    persona_stances: dict[str, float] = Field(default_factory=dict)
    """Offline personas' stance this cycle (1 long, 0 flat), kept with the situation so that
    memory can later say what each persona would have earned here."""
    persona: str = ""
    """The offline persona whose rule made this proposal ("" for other analysts): a BUY's
    persona is kept with the position, so the lesson written when it closes names its opener."""


Recall = Callable[[Sequence[float], int], tuple[RecalledSituation, ...]]


@dataclass(frozen=True)
class ResearchContext:
    """Read-only, point-in-time research an analyst may consult during one cycle: the closed
    candles up to now and the situation memory's recall. Nothing here can place an order."""

    history: MarketHistory
    recall: Recall


class Analyst(Protocol):
    """Anything that turns a brief into a proposal. An analyst may also set a class attribute
    `deterministic = True` (same brief, same proposal, no cost): a resumed run then asks it
    again while catching up, instead of replaying the proposals its traces recorded."""

    name: str

    def propose(self, brief: Brief, research: ResearchContext | None = None) -> AnalystResult: ...
