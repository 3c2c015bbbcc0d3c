"""What `tradegraph agent ...` shows: the agent's decisions as they happen, its pulse, its log.

The agent itself is `graphs.agent`; the scheduler that wakes it is `api.scheduler`. Nothing
here decides anything."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.markup import escape

from core.errors import UserError
from core.text import shown

if TYPE_CHECKING:
    from core.types import Trace
    from graphs.agent.pulse import AgentPulse
    from graphs.agent.runner import Agent
    from graphs.agent.start import AgentRequest, PreparedAgent

console = Console()
STATE_COLOURS = {
    "running": "green",
    "starting": "green",
    "stalled": "yellow",
    "halted": "red",
    "stopped": "dim",
    "finished": "cyan",
    "failed": "red",
    "crashed": "red",
}


def start_agents(requests: Sequence[AgentRequest], *, quiet: bool) -> None:
    """Run the agents in this process until SIGTERM or Ctrl-C (each after the decision in
    progress) or, on played markets, until every one played its last candle."""
    from api.scheduler import run_agents
    from graphs.agent.start import open_agents, prepare_agent
    from tools.notify import open_notifications

    stop = threading.Event()
    signals: list[str] = []

    def on_signal(number: int, _frame: object) -> None:
        signals.append(signal.Signals(number).name)
        stop.set()

    # before anything is opened: a SIGTERM while the agent starts stops it as cleanly as later
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        agents = [prepare_agent(request) for request in requests]
        root = agents[0].prepared.plan.data_dir
        notify = agents[0].prepared.plan.settings.notify
        with (
            AgentLogs(root, [a.name for a in agents], quiet=quiet) as logs,
            open_notifications(notify, os.environ) as notifier,
        ):
            with open_agents(
                agents, on_decision=logs.decision, stopping=stop.is_set, notifier=notifier
            ) as running:
                for agent, opened in zip(agents, running, strict=True):
                    logs.write(agent.name, _started_line(agent, opened))
                errors: list[BaseException] = []
                run_agents(running, stop, on_error=lambda _a, exc: errors.append(exc))
                if errors:
                    raise errors[0]
                for opened in running:
                    if stop.is_set() and not opened.finished.is_set():
                        opened.stop()
            for opened in running:
                logs.write(
                    opened.identity.name,
                    f"agent {opened.identity.name} {opened.phase} after {opened.decisions:,} "
                    f"decisions ({opened.missed} candle closes missed)"
                    + (f" by {signals[0]}" if signals else ""),
                )
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if signals:
        raise SystemExit(143 if signals[0] == "SIGTERM" else 130)


class AgentLogs:
    """Each agent's log file (`agents/NAME.log`, one line per decision and event, time
    stamped), echoed to the terminal unless quiet (prefixed by the name when several)."""

    def __init__(self, root: Path, names: Sequence[str], *, quiet: bool) -> None:
        from graphs.agent.pulse import log_path

        self._paths = {name: log_path(root, name) for name in names}
        self._files: dict[str, TextIO] = {}
        self._quiet = quiet
        self._prefix = len(names) > 1
        self._lock = threading.Lock()

    def __enter__(self) -> AgentLogs:
        for name, path in self._paths.items():
            path.parent.mkdir(exist_ok=True)
            self._files[name] = path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *_exc: object) -> None:
        for handle in self._files.values():
            handle.close()

    def write(self, name: str, line: str) -> None:
        with self._lock:
            handle = self._files[name]
            handle.write(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}Z {line}\n")
            handle.flush()
            if not self._quiet:
                shown_line = f"[{name}] {line}" if self._prefix else line
                console.print(shown_line, markup=False, highlight=False, soft_wrap=True)

    def decision(self, name: str, trace: Trace) -> None:
        from api.run_command import live_line

        self.write(name, live_line(trace))


def _started_line(agent: PreparedAgent, opened: Agent) -> str:
    spec, plan = agent.spec, agent.prepared.plan
    pace = "in real time" if spec.speed in (None, 1.0) else f"at {spec.speed:g}x"
    return (
        f"agent {agent.name} {'restarted' if agent.restarted else 'started'} "
        f"(pid {os.getpid()}, run {plan.run_id}): {', '.join(spec.symbols)} {spec.timeframe} "
        f"from {shown(spec.market, one_line=True)} {pace} · broker {spec.broker} · account "
        f"{spec.account} · analyst {spec.analyst}; next wake-up {_when(opened.next_wake_ms())}"
    )


def show_list(data_dir: Path | None) -> None:
    root, pulses, halted = _pulses(data_dir)
    if not pulses:
        console.print(f"no agents in {escape(str(root))}: start one with `tradegraph agent start`")
        return
    from graphs.agent.pulse import agent_state

    console.print(f"Agents in {escape(str(root))}", soft_wrap=True)
    header = (
        f"  {'agent':<16} {'state':<9} {'pid':>7}  {'decisions':>9}  {'equity':>12}  next wake-up"
    )
    console.print(header, style="bold", highlight=False)
    for pulse in pulses:
        state = agent_state(pulse, halted=pulse.spec.account in halted)
        colour = STATE_COLOURS[state]
        equity = f"{pulse.equity:,.2f}" if pulse.equity is not None else "-"
        console.print(
            f"  {escape(pulse.name):<16} [{colour}]{state:<9}[/] {pulse.pid:>7}  "
            f"{pulse.decisions:>9,}  {equity:>12}  "
            f"{_when(pulse.next_wake_ms) if state in ('running', 'halted') else '-'}",
            highlight=False,
            soft_wrap=True,
        )


def show_status(name: str, data_dir: Path | None, *, as_json: bool) -> None:
    from graphs.agent.pulse import agent_state, pulse_summary

    root, pulses, halted = _pulses(data_dir)
    pulse = _named(root, pulses, name)
    state = agent_state(pulse, halted=pulse.spec.account in halted)
    if as_json:
        print(pulse_summary(pulse, state))
        return
    spec = pulse.spec
    speed = "real time" if spec.speed is None else f"played at {spec.speed:g}x"
    lines = [
        f"agent [bold]{escape(pulse.name)}[/]: [{STATE_COLOURS[state]}]{state}[/]"
        + (f" ({escape(shown(pulse.message, one_line=True))})" if pulse.message else ""),
        f"  trades      {escape(', '.join(spec.symbols))} {spec.timeframe} from "
        f"{escape(shown(spec.market, one_line=True))} ({speed})",
        f"  broker      {spec.broker} · account {escape(spec.account)} · analyst "
        f"{escape(spec.analyst)}",
        f"  process     pid {pulse.pid} · run {pulse.run_id} · started {_when(pulse.started_ms)}"
        f" · heartbeat {_ago(pulse.heartbeat_ms)}",
        f"  decisions   {pulse.decisions:,} · candle closes missed {pulse.missed:,}",
    ]
    if pulse.last is not None:
        lines.append(
            f"  last        {_when(pulse.last.ts)} {escape(pulse.last.symbol)} "
            f"{pulse.last.action} → {pulse.last.verdict}"
        )
    held = ", ".join(f"{escape(s)} {q:g}" for s, q in pulse.positions.items()) or "none"
    equity = f"{pulse.equity:,.2f}" if pulse.equity is not None else "-"
    lines.append(f"  equity      {equity} · positions {held}")
    if state in ("running", "halted"):
        lines.append(f"  next        wake-up {_when(pulse.next_wake_ms)}")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def stop_agent(name: str, data_dir: Path | None, *, timeout: float) -> None:
    from graphs.agent.pulse import agent_state, process_alive

    root, pulses, _ = _pulses(data_dir)
    pulse = _named(root, pulses, name)
    state = agent_state(pulse, halted=False)
    if state not in ("running", "stalled", "starting"):
        raise UserError(f"agent {name} is not running ({state}): nothing to stop")
    os.kill(pulse.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_alive(pulse.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if process_alive(pulse.pid):
        raise UserError(
            f"agent {name} (pid {pulse.pid}) is still finishing its decision after {timeout:g} s: "
            "check again with `tradegraph agent status`"
        )
    console.print(f"agent {escape(name)} stopped (pid {pulse.pid})", highlight=False)


def show_logs(name: str, data_dir: Path | None, *, lines: int, follow: bool) -> None:
    from graphs.agent.pulse import log_path

    root, pulses, _ = _pulses(data_dir)
    _named(root, pulses, name)
    path = log_path(root, name)
    if lines < 0:
        raise UserError("--lines must be 0 or more")
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle.readlines()[-lines:] if lines else []:
            print(shown(line.rstrip("\n"), one_line=True))
        while follow:
            line = handle.readline()
            if line:
                print(shown(line.rstrip("\n"), one_line=True), flush=True)
            else:
                time.sleep(0.25)


def _pulses(data_dir: Path | None) -> tuple[Path, list[AgentPulse], set[str]]:
    """The data directory, its agents' pulses, and the accounts whose kill switch holds."""
    from core.settings import load_settings
    from graphs.agent.roster import agent_roster

    roster = agent_roster(load_settings(data_dir=data_dir))
    return roster.root, roster.pulses, roster.halted


def _named(root: Path, pulses: list[AgentPulse], name: str) -> AgentPulse:
    for pulse in pulses:
        if pulse.name == name:
            return pulse
    known = ", ".join(p.name for p in pulses) or "none"
    raise UserError(f"no agent {name!r} in {root} (agents here: {known})")


def _when(ms: int | float | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _ago(ms: int) -> str:
    seconds = max(0.0, time.time() - ms / 1000)
    return f"{seconds:.0f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"
