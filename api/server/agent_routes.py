"""/v1/agents: the autonomous agents over HTTP, as `tradegraph agent list|status|start|stop`.

A viewer lists them; a trader starts (paper by default) and stops them; live trading needs an
admin's key and the CLI's double opt-in (`live_confirmed` here, and the settings' mode).
Starting runs `tradegraph agent start` in a process of its own (`api.server.served_agents`
says why on a data directory of its own). The routes are plain functions: FastAPI runs them on
worker threads, as they wait on files and processes.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from api.server.audit import note_audit
from api.server.auth import Caller, KeyLookup, caller_with, permit
from api.server.errors import ApiError
from api.server.rate_limit import WRITE_LIMIT, KeyBuckets, limited
from api.server.served_agents import (
    AgentConflictError,
    AgentLauncher,
    AgentRefusedError,
    ServedAgent,
    StartRequest,
    TradingHaltedError,
    UnknownAgentError,
)
from graphs.agent.pulse import NAME_RE
from graphs.chat.desk_tools_agents import AgentLine
from graphs.chat.service import ChatEngine

NAME_PATTERN = NAME_RE.pattern


class AgentView(AgentLine):
    """One agent as `tradegraph agent status` shows it, and the data directory it trades
    (`--data-dir` for the CLI's commands on it)."""

    data_dir: str


class AgentsList(BaseModel):
    model_config = ConfigDict(frozen=True)

    agents: list[AgentView]


class AgentStartBody(BaseModel):
    """`tradegraph agent start`'s options (`from` and `to` as `start` and `end`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="the agent's name; restart it by it")
    market: str | None = Field(
        default=None, max_length=300, description="exchange:NAME, a recording or synthetic:SEED"
    )
    symbol: str | None = Field(default=None, max_length=200, examples=["SYN/USDT"])
    timeframe: str | None = Field(default=None, max_length=10, examples=["1h"])
    broker: Literal["paper", "sandbox", "live"] = "paper"
    account: str | None = Field(default=None, max_length=64)
    speed: float | None = Field(default=None, gt=0, description="play a market this much faster")
    start: str | None = Field(default=None, max_length=40, description="first candle (UTC)")
    end: str | None = Field(default=None, max_length=40, description="last candle (UTC)")
    bars: int | None = Field(default=None, ge=1)
    analyst: str | None = Field(default=None, max_length=100)
    live_confirmed: bool = Field(
        default=False, description="the second confirmation broker live needs (admin only)"
    )


class AgentStopBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=30.0, gt=0, le=300, description="wait this long")


def _view(agent: ServedAgent) -> AgentView:
    return AgentView(**agent.line.model_dump(), data_dir=str(agent.data_dir))


def agent_router(
    engine: ChatEngine, keys: KeyLookup, writes: KeyBuckets | None = None
) -> APIRouter:
    """The agents routes over the data directory of `engine`'s desk; a start or a stop takes
    a token of the key's bucket in `writes`."""
    writes = KeyBuckets(WRITE_LIMIT) if writes is None else writes
    desk = engine.desk
    launcher = AgentLauncher(desk.settings)
    router = APIRouter(prefix="/v1/agents", tags=["agents"])
    viewer = Depends(caller_with(keys, "viewer", "reading agents"))
    trader = Depends(limited(caller_with(keys, "trader", "starting or stopping agents"), writes))

    @router.get("", summary="Every agent: state, heartbeat, last decision")
    def list_agents(caller: Caller = viewer) -> AgentsList:
        return AgentsList(agents=[_view(a) for a in launcher.agents(desk.now_ms())])

    @router.get("/{name}", summary="One agent, as `tradegraph agent status` shows it")
    def agent_status(name: str, caller: Caller = viewer) -> AgentView:
        try:
            return _view(launcher.agent(name, desk.now_ms()))
        except UnknownAgentError as unknown:
            raise ApiError(404, "unknown_agent", str(unknown)) from None

    @router.post("", summary="Start an agent (paper unless told; live needs an admin)")
    def start_agent(request: Request, body: AgentStartBody, caller: Caller = trader) -> AgentView:
        note_audit(request, agent=body.name, broker=body.broker, market=body.market)
        if body.broker == "live":
            permit(caller, "admin", "live trading")
        asked = StartRequest(**body.model_dump())
        try:
            return _view(launcher.start(asked, desk.now_ms()))
        except AgentConflictError as conflict:
            raise ApiError(409, "agent_running", str(conflict)) from None
        except TradingHaltedError as halted:
            raise ApiError(409, "trading_halted", str(halted)) from None
        except AgentRefusedError as refused:
            raise ApiError(422, "agent_refused", str(refused)) from None

    @router.post("/{name}/stop", summary="Stop an agent after its decision in progress")
    def stop_agent(
        request: Request, name: str, body: AgentStopBody | None = None, caller: Caller = trader
    ) -> AgentView:
        note_audit(request, agent=name)
        timeout = (body or AgentStopBody()).timeout_s
        try:
            return _view(launcher.stop(name, timeout, desk.now_ms()))
        except UnknownAgentError as unknown:
            raise ApiError(404, "unknown_agent", str(unknown)) from None
        except AgentConflictError as conflict:
            raise ApiError(409, "agent_not_running", str(conflict)) from None

    return router
