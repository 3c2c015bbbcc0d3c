"""Starting an agent: what it was asked, checked before any work, then its node opened.

`prepare_agent` refuses every mistake with one line (a name in use by a running agent, a
speed on a live market, options that differ from the agent's own on a restart by name) and
assembles the session as `run` does (`graphs.assembly.prepare_run`), so an agent is refused
what a run is refused. `open_agent` holds the data directory's writer lock, opens the node
with the agent's feed and clock, the checkpointer, and finishes a wake-up a crash cut short.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from core.candle_schedule import CandleSchedule
from core.clock import LiveClock, SimulatedClock
from core.errors import UserError
from core.notifications import Notifier
from core.types import Trace
from core.writer_lock import writer_lock
from graphs.agent.checkpoints import open_checkpointer
from graphs.agent.exchange import ExchangeTicks
from graphs.agent.played import PlayedMarket
from graphs.agent.pulse import (
    AgentSpec,
    agent_state,
    check_agent_name,
    read_pulse,
)
from graphs.agent.runner import Agent, AgentIdentity, AgentMarket
from graphs.assembly import PreparedRun, RunRequest, prepare_run, recorded_calls
from graphs.session import DrivenPorts, open_session
from memory.session_stores import WriterChoice

MAX_SPEED = 1_000_000.0


@dataclass(frozen=True)
class AgentRequest:
    name: str
    market: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    broker: str = "paper"
    account: str | None = None
    speed: float | None = None
    start: datetime | None = None
    end: datetime | None = None
    bars: int | None = None
    analyst: str | None = None
    data_dir: Path | None = None
    live_confirmed: bool = False

    @property
    def asks_for_a_market(self) -> bool:
        return any(
            v is not None
            for v in (
                self.market,
                self.symbol,
                self.timeframe,
                self.speed,
                self.start,
                self.end,
                self.bars,
            )
        )


@dataclass(frozen=True)
class PreparedAgent:
    name: str
    spec: AgentSpec
    prepared: PreparedRun
    origin_wall_ms: int | None
    restarted: bool


AGENT_KEYS = frozenset(
    {"name", "market", "symbol", "timeframe", "broker", "account", "speed", "from", "to",
     "bars", "analyst"}
)  # fmt: skip


def agents_from_file(path: Path, data_dir: Path | None) -> list[AgentRequest]:
    """The agents a TOML file lists (`[[agents]]` tables), each checked for unknown keys."""
    import tomllib

    from core.dates import parse_date

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"--agents {path}: no such file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"--agents {path} cannot be read: {exc}") from None
    tables = raw.get("agents")
    if not isinstance(tables, list) or not tables or set(raw) - {"agents"}:
        raise UserError(f"--agents {path}: list the agents as [[agents]] tables, and only them")
    requests = []
    for i, table in enumerate(tables, start=1):
        unknown = sorted(set(table) - AGENT_KEYS)
        if unknown:
            raise UserError(f"--agents {path}: agent {i} has an unknown key {unknown[0]!r}")
        if not isinstance(table.get("name"), str):
            raise UserError(f"--agents {path}: agent {i} needs a name")
        speed, bars = table.get("speed"), table.get("bars")
        if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int | float)):
            raise UserError(f"--agents {path}: agent {i}'s speed must be a number")
        if bars is not None and (isinstance(bars, bool) or not isinstance(bars, int)):
            raise UserError(f"--agents {path}: agent {i}'s bars must be a whole number")
        requests.append(
            AgentRequest(
                name=table["name"],
                market=table.get("market"),
                symbol=table.get("symbol"),
                timeframe=table.get("timeframe"),
                broker=table.get("broker", "paper"),
                account=table.get("account"),
                speed=float(speed) if speed is not None else None,
                start=parse_date(str(table["from"]), "from") if "from" in table else None,
                end=parse_date(str(table["to"]), "to", end_of_day=True) if "to" in table else None,
                bars=bars,
                analyst=table.get("analyst"),
                data_dir=data_dir,
            )
        )
    return requests


def prepare_agent(request: AgentRequest) -> PreparedAgent:
    from core.settings import load_settings

    name = check_agent_name(request.name)
    settings = load_settings(data_dir=request.data_dir, market=request.market)
    root = settings.data_dir.expanduser().resolve()
    earlier = read_pulse(root, name) if root.is_dir() else None
    if earlier is not None and agent_state(earlier, halted=False) in (
        "running",
        "stalled",
        "starting",
    ):
        raise UserError(
            f"agent {name} is running already (pid {earlier.pid}): watch it with `tradegraph "
            f"agent status {name}`, stop it with `tradegraph agent stop {name}`, or choose "
            "another --name"
        )
    if earlier is not None and not request.asks_for_a_market:
        request = _from_spec(request, earlier.spec)
    if request.symbol is None:
        raise UserError(
            f"agent {name} has never run here: say what it trades, e.g. `tradegraph agent "
            f"start --name {name} --market synthetic --symbol SYN/USDT --timeframe 1h`"
        )
    market = (request.market or settings.market).strip()
    exchange = market.startswith("exchange:")
    if exchange and request.speed is not None:
        raise UserError(
            f"--speed plays a recording or the synthetic market faster; {market} trades in "
            "real time: drop --speed"
        )
    if request.speed is not None and not (0 < request.speed <= MAX_SPEED):
        raise UserError(f"--speed {request.speed:g} is out of range: use 1 to {MAX_SPEED:,.0f}")
    account = request.account or (f"agent-{name}" if request.broker == "paper" else None)
    prepared = prepare_run(
        RunRequest(
            market=request.market,
            symbol=request.symbol,
            timeframe=request.timeframe,
            bars=request.bars,
            start=request.start,
            end=request.end,
            analyst=request.analyst,
            data_dir=request.data_dir,
            account=account,
            broker=request.broker,
            live_confirmed=request.live_confirmed,
            realtime=True,
        )
    )
    plan = replace(prepared.plan, scheduled=True)
    spec = AgentSpec(
        market=market,
        symbols=tuple(info.symbol for info, _ in plan.markets),
        timeframe=plan.info.timeframe,
        broker=request.broker,
        account=plan.account_name,
        speed=None if exchange else (request.speed or 1.0),
        start=request.start.isoformat() if request.start else None,
        end=request.end.isoformat() if request.end else None,
        bars=request.bars,
        analyst=prepared.analyst.name,
    )
    if earlier is not None and earlier.spec != spec:
        raise UserError(
            f"agent {name} traded {', '.join(earlier.spec.symbols)} {earlier.spec.timeframe} "
            f"from {earlier.spec.market} on account {earlier.spec.account}: start it with no "
            "market options to carry on, or choose another --name"
        )
    return PreparedAgent(
        name=name,
        spec=spec,
        prepared=replace(prepared, plan=plan),
        origin_wall_ms=earlier.origin_wall_ms if earlier is not None else None,
        restarted=earlier is not None,
    )


def _from_spec(request: AgentRequest, spec: AgentSpec) -> AgentRequest:
    return replace(
        request,
        market=spec.market,
        symbol=",".join(spec.symbols),
        timeframe=spec.timeframe,
        broker=spec.broker if request.broker == "paper" else request.broker,
        account=spec.account,
        speed=spec.speed,
        start=datetime.fromisoformat(spec.start) if spec.start else None,
        end=datetime.fromisoformat(spec.end) if spec.end else None,
        bars=spec.bars,
        analyst=request.analyst or spec.analyst,
    )


@contextmanager
def open_agent(
    agent: PreparedAgent,
    *,
    on_decision: Callable[[Trace], None] | None = None,
    stopping: Callable[[], bool] | None = None,
    now_ms: Callable[[], float] = lambda: time.time_ns() / 1e6,
) -> Iterator[Agent]:
    """One agent's node, open under the writer lock, with an interrupted wake-up settled.
    `now_ms` is the wall clock (a test's fake one)."""

    def decided(_name: str, trace: Trace) -> None:
        if on_decision is not None:
            on_decision(trace)

    with open_agents([agent], on_decision=decided, stopping=stopping, now_ms=now_ms) as agents:
        yield agents[0]


@contextmanager
def open_agents(
    agents: Sequence[PreparedAgent],
    *,
    on_decision: Callable[[str, Trace], None] | None = None,
    stopping: Callable[[], bool] | None = None,
    now_ms: Callable[[], float] = lambda: time.time_ns() / 1e6,
    notifier: Notifier | None = None,
) -> Iterator[list[Agent]]:
    """Agents of one data directory in this process: one writer lock and one checkpointer
    for all; with more than one, the traces are written inline (one writer process per
    agent would be two writers on one store). `notifier` is told of fills, breaker trips,
    halts and stalls."""
    root = agents[0].prepared.plan.data_dir
    if len({a.name for a in agents}) != len(agents):
        raise UserError("two agents of one process share a name: give each its own --name")
    if any(a.prepared.plan.data_dir != root for a in agents):
        raise UserError("the agents of one process share one data directory")
    settings = agents[0].prepared.plan.settings
    url = settings.database_url.get_secret_value() if settings.database_url else None
    names = ", ".join(a.name for a in agents)
    with (
        writer_lock(root, f"agent {names}"),
        open_checkpointer(root, url) as saver,
        ExitStack() as stack,
    ):
        opened = [
            stack.enter_context(
                _open_one(
                    agent, saver, on_decision=on_decision, stopping=stopping, now_ms=now_ms,
                    writer="process" if len(agents) == 1 else "inline", notifier=notifier,
                )
            )
            for agent in agents
        ]  # fmt: skip
        yield opened


@contextmanager
def _open_one(
    agent: PreparedAgent,
    saver: Any,
    *,
    on_decision: Callable[[str, Trace], None] | None,
    stopping: Callable[[], bool] | None,
    now_ms: Callable[[], float],
    writer: WriterChoice,
    notifier: Notifier | None,
) -> Iterator[Agent]:
    plan = agent.prepared.plan
    settings, root = plan.settings, plan.data_dir
    now = now_ms()
    period = plan.info.period_ms
    market: AgentMarket
    played: PlayedMarket | None = None
    identity = AgentIdentity(
        name=agent.name,
        spec=agent.spec,
        root=root,
        run_id=plan.run_id,
        heartbeat_seconds=settings.agent.heartbeat_seconds,
    )
    clock: Any
    if agent.spec.speed is None:
        delay = min(settings.agent.wake_delay_seconds * 1000, period / 4)  # short candles
        schedule = CandleSchedule(period, int(delay))
        driven = DrivenPorts(feed=None, clock=LiveClock(), warmup=plan.markets, writer=writer)
    else:
        played = PlayedMarket(plan.markets)
        speed = agent.spec.speed
        delay = int(min(settings.agent.wake_delay_seconds * 1000, period / speed / 10))
        origin = agent.origin_wall_ms
        schedule = _played_schedule(played, speed, delay, origin if origin else int(now))
        clock = SimulatedClock(played.first_open_ms)
        history = played.history(schedule.due_close(now)) if origin else ()
        driven = DrivenPorts(feed=played, clock=clock, warmup=history, writer=writer)
        market = played
    with (
        recorded_calls(agent.prepared),
        open_session(
            plan,
            agent.prepared.analyst,
            stop_on_interrupt=False,
            resume=False,
            driven=driven,
            notifier=notifier,
        ) as session,
    ):
        session.finished = True
        session.ports.memory.writer.submit([]).result()  # the store's writer is up
        if played is not None:  # its clock starts once the agent is ready
            if agent.origin_wall_ms is None:
                schedule = _played_schedule(
                    played, schedule.speed, schedule.delay_ms, int(now_ms())
                )
            identity = replace(
                identity,
                origin_wall_ms=schedule.origin_wall_ms,
                first_close_ms=played.first_open_ms + period,
                final_close_ms=played.last_close_ms,
            )
        else:
            market = ExchangeTicks(
                plan,
                session.ports.journal.events.append,
                patience_ms=int(settings.agent.patience_seconds * 1000),
                stopping=stopping or (lambda: False),
            )
        ends = [int(series.ts[-1]) + period for _, series in driven.warmup if len(series)]
        running = Agent(
            identity, session, schedule, market, saver,
            on_decision=partial(on_decision, agent.name) if on_decision else None,
            now_ms=now_ms, history_until_ms=max(ends) if ends else None,
        )  # fmt: skip
        try:
            running.recover()
            running.write_pulse()
            yield running
        except BaseException:
            running.phase = "failed"
            raise
        finally:
            if running.phase not in ("finished", "failed"):
                running.phase = "stopped"
            session.finished = running.phase in ("finished", "stopped")
            running.write_pulse()
    session.close()


def _played_schedule(
    played: PlayedMarket, speed: float, delay_ms: int, origin_wall_ms: int
) -> CandleSchedule:
    """The market's first open at `origin_wall_ms`, then `speed` times the wall clock."""
    return CandleSchedule(
        played.period_ms, delay_ms, speed, origin_market_ms=played.first_open_ms,
        origin_wall_ms=origin_wall_ms,
    )  # fmt: skip
