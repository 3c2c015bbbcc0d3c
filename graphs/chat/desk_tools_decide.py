"""`decide_now`: what the agent would decide on a symbol right now, through the real decision
graph and validator, with nothing executed and nothing stored (`graphs.chat.dry_cycle`)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.types import Action, Approved, Denied, Proposal, Side
from graphs.chat.contract import ValidatorCheck
from graphs.chat.desk_base import MAX_LINE, MAX_TEXT, ChatDesk, chat_tool, clip
from graphs.chat.desk_market import current_market, market_now
from graphs.chat.desk_proposals import recent_orders
from graphs.chat.desk_tools_audit import FEATURES_SHOWN, finite, iso
from graphs.chat.dry_cycle import DryDecision, dry_cycle
from graphs.chat.validator_checks import Asked, listed_checks
from tools.registry import Tool

MAX_RECALLED = 5
NOTE = (
    "a dry cycle: nothing was sent, and no ledger, breaker or memory record changed; a trade "
    "needs a proposal a person approves"
)


class DecideQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(min_length=3, max_length=40, description="the pair, like SOL/USDT")
    timeframe: str | None = Field(
        default=None, max_length=8, description="candle length like 1h (default: the market's)"
    )


class WouldPlace(BaseModel):
    """The order the validator approved, which a live cycle would send."""

    model_config = ConfigDict(frozen=True)

    side: str
    type: str
    quantity: float
    reference_price: float
    limit_price: float | None
    stop_price: float | None


class DecideView(BaseModel):
    """One dry decision cycle on the market's last closed candle: the analyst's proposal
    (its thesis is model or rule text: data), the validator's verdict with each check, the
    order it would place, the trading state and what memory recalled."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    market: str
    timeframe: str
    synthetic: bool
    as_of: str
    price: float
    account: str
    analyst: str
    model: str | None
    trading_state: str
    breakers: list[str]
    features: dict[str, Any]
    action: str
    size_fraction: float | None
    stop_loss: float | None
    take_profit: float | None
    confidence: float | None
    thesis: str
    verdict: str
    refusal_codes: list[str]
    checks: list[ValidatorCheck]
    would_place: WouldPlace | None
    recalled_situations: int
    recalled_lessons: list[str]
    llm: dict[str, Any]
    note: str = NOTE


def _checks(desk: ChatDesk, decision: DryDecision, proposal: Proposal) -> list[ValidatorCheck]:
    """The validator's verdict spread over its checks (none for a HOLD or a flatten)."""
    state = decision.state
    if proposal.action is Action.HOLD or state.get("flatten"):
        return []
    snapshot, portfolio = state["snapshot"], decision.book.portfolio
    symbol, buy = snapshot.info.symbol, proposal.action is Action.BUY
    equity = portfolio.equity({symbol: snapshot.price})
    fraction = proposal.size_fraction if math.isfinite(proposal.size_fraction) else 0.0
    asked = Asked(
        side=Side.BUY if buy else Side.SELL,
        quantity=fraction * (equity / snapshot.price if buy else portfolio.quantity(symbol)),
        price=proposal.limit_price or snapshot.price,
        stop=proposal.stop_loss,
        confidence=proposal.confidence,
        limits=desk.settings.risk,
        breakers=state["breakers"],
        market=snapshot,
        portfolio=portfolio,
        marks={},
    )
    return list(listed_checks(state["verdict"], asked))


def decide_now(desk: ChatDesk, query: DecideQuery) -> DecideView:
    opened = current_market(desk, query.symbol.strip().upper(), query.timeframe)
    recent = recent_orders(desk, desk.account_name, market_now(desk, opened))
    decision = dry_cycle(desk, opened, recent)
    state = decision.state
    analysis, verdict, trace = state["analysis"], state["verdict"], state["trace"]
    proposal = analysis.proposal
    order = verdict.order if isinstance(verdict, Approved) else None
    info, features = opened.info, state["features"].model_dump(mode="json")
    usage = analysis.usage
    return DecideView(
        symbol=info.symbol,
        market=clip(info.source, MAX_LINE, one_line=True),
        timeframe=info.timeframe,
        synthetic=info.synthetic,
        as_of=iso(state["snapshot"].now_ms),
        price=state["snapshot"].price,
        account=desk.account_name,
        analyst=decision.analyst,
        model=analysis.model,
        trading_state=state["breakers"].state.value,
        breakers=[
            clip(f"{d.breaker} ({d.stage.value}): {d.reason}", MAX_LINE * 2, one_line=True)
            for d in state["breakers"].demands
        ],
        features={k: features[k] for k in FEATURES_SHOWN if k in features}
        if features.get("ready")
        else {"warming_up": True},
        action=proposal.action.value,
        size_fraction=finite(proposal.size_fraction),
        stop_loss=finite(proposal.stop_loss),
        take_profit=finite(proposal.take_profit),
        confidence=finite(proposal.confidence),
        thesis=clip(proposal.thesis, MAX_TEXT * 2),
        verdict=trace.verdict.value + (" (flatten)" if state.get("flatten") else ""),
        refusal_codes=list(verdict.codes) if isinstance(verdict, Denied) else [],
        checks=_checks(desk, decision, proposal),
        would_place=None
        if order is None
        else WouldPlace(
            side=order.side.value,
            type=order.type.value,
            quantity=order.quantity,
            reference_price=order.reference_price,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
        ),
        recalled_situations=len(state.get("recalled", ())),
        recalled_lessons=[
            clip(lesson.text, MAX_LINE * 2) for lesson in state.get("lessons", ())[:MAX_RECALLED]
        ],
        llm=usage.model_dump() if usage.requests else {},
    )


def decide_tools(desk: ChatDesk) -> tuple[Tool[Any, Any], ...]:
    return (
        chat_tool(
            "decide_now",
            "What the agent would decide on a symbol now: one dry decision cycle through the "
            "real graph and validator on the latest closed candle, with the account's book and "
            "breakers: the proposal, the verdict, each check, the order it would place. "
            "Nothing is sent or stored.",
            DecideQuery,
            DecideView,
            lambda query: decide_now(desk, query),
        ),
    )
