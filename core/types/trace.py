"""The audit record of one decision cycle, hash-chained to the previous one of its run."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

GENESIS_HASH = "0" * 64


def canonical_json(payload: Any) -> str:
    """One byte-exact JSON text per value, so hashes do not depend on key order or spacing."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Trace(BaseModel):
    """Everything needed to audit one cycle: what was seen, proposed, decided and done."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    seq: int
    ts: int
    symbol: str
    market_source: str
    inputs_hash: str
    features: dict[str, Any]
    recalled: tuple[str, ...] = ()
    """Ids of the situations recalled this cycle (each known before the cycle)."""
    lessons: tuple[str, ...] = ()
    """Ids of the lessons recalled this cycle (each written before the cycle)."""
    analyst: str
    model: str | None = None
    prompt_version: str | None = None
    messages: tuple[dict[str, Any], ...] = ()
    """The LLM conversation of the cycle (requests' per-cycle part, answers, tool calls)."""
    llm: dict[str, Any] = Field(default_factory=dict)
    """Tokens and cost of the cycle's LLM requests; empty when no LLM was asked."""
    proposal: dict[str, Any]
    verdict: str
    refusals: tuple[str, ...] = ()
    order: dict[str, Any] | None = None
    fills: tuple[dict[str, Any], ...] = ()
    flatten: bool = False
    trading_state: str
    breaker_reasons: tuple[str, ...] = ()
    equity: float
    latency_ms: dict[str, float] = Field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """The hashed content: every field but the hash itself."""
        return self.model_dump(mode="json", exclude={"hash"})

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.body()).encode()).hexdigest()

    def sealed(self, prev_hash: str) -> Trace:
        """This trace linked to its predecessor and carrying its own hash."""
        linked = self.model_copy(update={"prev_hash": prev_hash, "hash": ""})
        return linked.model_copy(update={"hash": linked.compute_hash()})
