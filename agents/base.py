"""The analyst port: a brief in, a typed proposal (and how it was reached) out."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from core.types import Brief, Proposal


class LlmUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0


class AnalystResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal: Proposal
    model: str | None = None
    prompt_version: str | None = None
    messages: tuple[dict[str, Any], ...] = ()
    usage: LlmUsage = LlmUsage()
    error: str | None = None
    """Set when the analyst failed (API error, timeout): it counts toward the error-rate breaker."""


class Analyst(Protocol):
    name: str

    def propose(self, brief: Brief) -> AnalystResult: ...
