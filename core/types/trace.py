"""The audit record of one decision cycle, hash-chained to the previous one of its run.

A trace holds the cycle's typed records (the proposal, the order, the fills, the verdict, the
trading state, the breakers' demands and events) as they were. An analyst's proposal may break
a proposal's own constraints (the stress analyst sends NaN and infinite sizes on purpose): it
is recorded all the same, and JSON, which has no NaN, keeps such a number as null. Hashes are
taken over that JSON form, so a trace read back from the store hashes as it did when sealed.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from core.types.breakers import BreakerDemand, BreakerEvent
from core.types.risk import TradingState, VerdictKind
from core.types.trading import Action, Fill, Order, OrderType, Proposal

GENESIS_HASH = "0" * 64


def canonical_json(payload: Any) -> str:
    """One byte-exact JSON text per value, so hashes do not depend on key order or spacing.
    A NaN or an infinity is written null, as JSON has it (and as a stored trace holds it)."""
    try:
        return json.dumps(
            payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except ValueError:  # a number JSON cannot hold: rare, so only then is the payload copied
        return json.dumps(
            _finite(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class _ProposalFields(BaseModel):
    """A proposal's shape without its constraints, to read back one that broke them."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    symbol: str
    size_fraction: float | None = 0.0
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    confidence: float | None = 0.0
    thesis: str = ""


def _recorded_proposal(value: Any) -> Any:
    """The cycle's own Proposal is taken as it is (not validated again). Read back from JSON,
    a proposal is validated as one; one that broke a proposal's constraints when it was made
    is rebuilt as recorded, a null where a number must be standing for the NaN it was."""
    if not isinstance(value, dict):
        return value
    try:
        return Proposal.model_validate(value)
    except ValidationError:
        fields = _ProposalFields.model_validate(value)
    size, confidence = fields.size_fraction, fields.confidence
    return Proposal.model_construct(
        **{
            **fields.model_dump(),
            "size_fraction": math.nan if size is None else size,
            "confidence": math.nan if confidence is None else confidence,
        }
    )


def _nan_if_null(value: Any) -> Any:
    return math.nan if value is None else value


RecordedProposal = Annotated[Proposal, BeforeValidator(_recorded_proposal)]
RecordedNumber = Annotated[float, BeforeValidator(_nan_if_null)]
"""A number that may have been NaN or infinite: null in JSON, NaN when read back."""


class TraceEvent(BaseModel):
    """Something that happened outside a decision and changed what the run acts on (an
    order adopted or a position closed by reconciliation, the feed switching exchange): kept
    in the next trace, so the audit trail shows it where it took effect."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ts: int
    kind: str
    detail: str
    client_order_id: str | None = None
    """The order the event touched (recorded by reconciliation or a broker), so the audit can
    match the ledger's rows for it to this trace."""


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
    proposal: RecordedProposal
    """What the analyst proposed, as it proposed it (the validator decided on it)."""
    verdict: VerdictKind
    refusals: tuple[str, ...] = ()
    order: Order | None = None
    fills: tuple[Fill, ...] = ()
    """The fills the cycle settled: orders of earlier cycles (and resting stops) filled at
    this candle."""
    flatten: bool = False
    trading_state: TradingState
    breakers: tuple[BreakerDemand, ...] = ()
    """The breakers holding trading back this cycle, the trading state's why."""
    breaker_events: tuple[BreakerEvent, ...] = ()
    """The trips, resets, halts and resumes of this cycle."""
    equity: RecordedNumber
    latency_ms: dict[str, float] = Field(default_factory=dict)
    events: tuple[TraceEvent, ...] = ()
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """The hashed content: every field but the hash itself (NaN stays NaN here; the
        canonical JSON writes it null)."""
        # A trace without events hashes as traces did before they could carry any.
        return self.model_dump(
            mode="json", exclude={"hash", "events"} if not self.events else {"hash"}
        )

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.body()).encode()).hexdigest()

    def sealed(self, prev_hash: str) -> Trace:
        """This trace linked to its predecessor and carrying its own hash."""
        linked = self.model_copy(update={"prev_hash": prev_hash, "hash": ""})
        return linked.model_copy(update={"hash": linked.compute_hash()})
