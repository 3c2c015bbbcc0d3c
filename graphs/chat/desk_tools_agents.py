"""The agents of the data directory as the chat reads them: what each trades, whether it is
running, stalled, halted or stopped (judged now from its pulse, as `tradegraph agent list`
does), its last decision and its heartbeat. Starting and stopping agents are a person's
commands (`tradegraph agent start|stop`); there is no tool for them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from graphs.agent.pulse import AgentPulse, agent_state
from graphs.agent.roster import agent_roster
from graphs.chat.desk_base import MAX_LINE, ChatDesk, capped, chat_tool, clip
from graphs.chat.desk_tools_audit import iso
from tools.registry import Tool

MAX_AGENTS = 50
MAX_POSITIONS = 20


class AgentsQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, max_length=48, description="only this agent")


class AgentLine(BaseModel):
    """One agent: its state judged now, what it trades, its last decision (UTC times)."""

    model_config = ConfigDict(frozen=True)

    name: str
    state: str
    account: str
    market: str
    symbols: list[str]
    timeframe: str
    broker: str
    analyst: str
    decisions: int
    missed: int
    last_decision: str | None
    equity: float | None
    positions: dict[str, float]
    heartbeat: str
    heartbeat_age_s: float
    next_wake: str | None
    message: str


class AgentsView(BaseModel):
    model_config = ConfigDict(frozen=True)

    agents: list[AgentLine]
    left_out: int = 0


def agent_line(pulse: AgentPulse, state: str, now_ms: int) -> AgentLine:
    spec, last = pulse.spec, pulse.last
    said = None if last is None else f"{iso(last.ts)} {last.symbol} {last.action} -> {last.verdict}"
    positions = dict(sorted(pulse.positions.items())[:MAX_POSITIONS])
    return AgentLine(
        name=pulse.name,
        state=state,
        account=spec.account,
        market=clip(spec.market, MAX_LINE, one_line=True),
        symbols=list(spec.symbols[:MAX_POSITIONS]),
        timeframe=spec.timeframe,
        broker=spec.broker,
        analyst=clip(spec.analyst, MAX_LINE, one_line=True),
        decisions=pulse.decisions,
        missed=pulse.missed,
        last_decision=None if said is None else clip(said, MAX_LINE, one_line=True),
        equity=pulse.equity,
        positions=positions,
        heartbeat=iso(pulse.heartbeat_ms),
        heartbeat_age_s=round(max(0.0, (now_ms - pulse.heartbeat_ms) / 1000), 1),
        next_wake=iso(pulse.next_wake_ms) if pulse.next_wake_ms is not None else None,
        message=clip(pulse.message, MAX_LINE, one_line=True),
    )


def list_agents(desk: ChatDesk, query: AgentsQuery) -> AgentsView:
    roster = agent_roster(desk.settings)
    pulses = [p for p in roster.pulses if query.name is None or p.name == query.name]
    if query.name is not None and not pulses:
        known = ", ".join(p.name for p in roster.pulses[:MAX_AGENTS]) or "none"
        raise ValueError(f"no agent {query.name!r} here (agents: {known})")
    now = desk.now_ms()
    lines = [
        agent_line(p, agent_state(p, halted=p.spec.account in roster.halted, now_ms=now), now)
        for p in pulses
    ]
    shown, left_out = capped(lines, MAX_AGENTS)
    return AgentsView(agents=shown, left_out=left_out)


def agent_tools(desk: ChatDesk) -> tuple[Tool[Any, Any], ...]:
    return (
        chat_tool(
            "list_agents",
            "The autonomous agents of this data directory: each one's state (running, stalled, "
            "halted, stopped, finished, failed), market, account, decisions, last decision, "
            "equity, positions and heartbeat. Read-only.",
            AgentsQuery,
            AgentsView,
            lambda query: list_agents(desk, query),
        ),
    )
