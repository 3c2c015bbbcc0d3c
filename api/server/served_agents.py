"""Agents started over HTTP: each one is `tradegraph agent start` in a detached process of its
own, on a data directory of its own, `served_agents/NAME/` under the server's.

Why a directory of its own: `tradegraph serve` holds its data directory's writer lock for as
long as it runs (`graphs.chat.service`), and an agent is a writer too (`graphs.agent.start`
takes the same lock), so an agent cannot trade the server's data directory beside it. Under
`served_agents/NAME/` it holds its own lock, ledger, traces and risk state, exactly as
`tradegraph agent start --data-dir served_agents/NAME` would: the CLI reads it with that
`--data-dir`. A halt of the server's data directory, over HTTP or from the CLI, engages the
switch there too (`api.halts`); no agent starts while the server's global switch holds.

The CLI does all the checking (the same validation, defaults and double opt-in for live
trading); a refusal is its one line. The process is detached so an agent outlives a
restarted server; it is stopped as `tradegraph agent stop` stops it (SIGTERM: it finishes the
decision in progress).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from api.halts import SERVED_FOLDER, served_roots
from core.backends import storage_for
from core.risk_state import RiskState
from core.settings import Settings
from graphs.agent.pulse import AgentPulse, agent_state, process_alive, read_pulse
from graphs.agent.roster import agent_roster
from graphs.chat.desk_tools_agents import AgentLine, agent_line
from risk.breakers.admin import status_all

ERROR_FILE: Final = "agent.stderr"
RUNNING_STATES: Final = ("running", "stalled", "starting", "halted")


class AgentRefusedError(Exception):
    """`tradegraph agent start` refused the request: its one line."""


class AgentConflictError(Exception):
    """The agent is running already, or is not running when asked to stop."""


class TradingHaltedError(Exception):
    """The server's data directory's global kill switch holds: no agent starts."""


class UnknownAgentError(Exception):
    """No agent of that name, in the server's data directory or under `served_agents/`."""


@dataclass(frozen=True)
class StartRequest:
    """`tradegraph agent start`'s options, as the HTTP body gave them."""

    name: str
    market: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    broker: str = "paper"
    account: str | None = None
    speed: float | None = None
    start: str | None = None
    end: str | None = None
    bars: int | None = None
    analyst: str | None = None
    live_confirmed: bool = False

    def arguments(self, data_dir: Path) -> list[str]:
        """The command line's arguments, each option with its value in one word (a value
        starting with '-' stays a value)."""
        options = (
            ("--market", self.market), ("--symbol", self.symbol),
            ("--timeframe", self.timeframe), ("--account", self.account),
            ("--speed", None if self.speed is None else repr(self.speed)),
            ("--from", self.start), ("--to", self.end),
            ("--bars", None if self.bars is None else str(self.bars)),
            ("--analyst", self.analyst),
        )  # fmt: skip
        given = [f"{flag}={value}" for flag, value in options if value is not None]
        confirmed = ["--i-understand-live-trading"] if self.live_confirmed else []
        return [
            "agent", "start", f"--name={self.name}", f"--broker={self.broker}", *given,
            *confirmed, f"--data-dir={data_dir}", "--quiet",
        ]  # fmt: skip


@dataclass(frozen=True)
class ServedAgent:
    """An agent as the list shows it, and the data directory it trades."""

    line: AgentLine
    data_dir: Path


def tradegraph_command() -> list[str]:
    """The `tradegraph` console script of the interpreter serving (its venv's)."""
    script = Path(sys.executable).parent / "tradegraph"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from api.cli import main; main()"]


class AgentLauncher:
    """Starts, lists and stops the agents of the server's data directory `settings.data_dir`.
    It keeps the processes it started, to reap them once they end."""

    def __init__(self, settings: Settings, *, start_timeout_s: float = 60.0) -> None:
        self.settings = settings
        self.root = settings.data_dir.expanduser().resolve()
        self.start_timeout_s = start_timeout_s
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._guard = threading.Lock()

    def folder(self, name: str) -> Path:
        return self.root / SERVED_FOLDER / name

    def agents(self, now_ms: int) -> list[ServedAgent]:
        """Every agent: the server's data directory's own, then each served one's."""
        self._reap()
        found: list[ServedAgent] = []
        for root in self._roots():
            roster = agent_roster(self.settings.model_copy(update={"data_dir": root}))
            for pulse in roster.pulses:
                halted = pulse.spec.account in roster.halted
                state = agent_state(pulse, halted=halted, now_ms=now_ms)
                found.append(ServedAgent(agent_line(pulse, state, now_ms), root))
        return found

    def agent(self, name: str, now_ms: int) -> ServedAgent:
        for agent in self.agents(now_ms):
            if agent.line.name == name:
                return agent
        known = ", ".join(a.line.name for a in self.agents(now_ms)) or "none"
        raise UnknownAgentError(f"no agent {name!r} here (agents: {known})")

    def start(self, request: StartRequest, now_ms: int) -> ServedAgent:
        """Start the agent and wait for its first pulse; AgentRefusedError with the CLI's line
        when it refuses (nothing runs then)."""
        if self._halted_here():
            raise TradingHaltedError(
                f"trading is halted on {self.root} (the global kill switch): an agent started "
                "now would not see it; resume with `tradegraph risk resume` first"
            )
        folder = self.folder(request.name)
        earlier = read_pulse(folder, request.name) if folder.is_dir() else None
        if earlier is not None and agent_state(earlier, halted=False) in RUNNING_STATES:
            raise AgentConflictError(
                f"agent {request.name} is running already (pid {earlier.pid}): stop it with "
                f"POST /v1/agents/{request.name}/stop, or choose another name"
            )
        folder.mkdir(parents=True, exist_ok=True)
        errors = folder / ERROR_FILE
        with errors.open("wb") as stderr:
            process = subprocess.Popen(
                [*tradegraph_command(), *request.arguments(folder)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        with self._guard:
            self._children[process.pid] = process
        pulse = self._first_pulse(folder, request.name, process)
        if pulse is None:
            raise AgentRefusedError(_last_line(errors) or "the agent ended without a word")
        return self.agent(request.name, now_ms)

    def stop(self, name: str, timeout_s: float, now_ms: int) -> ServedAgent:
        """SIGTERM to the agent's process, as `tradegraph agent stop`; waits up to
        `timeout_s` for it to finish its decision in progress."""
        agent = self.agent(name, now_ms)
        pulse = read_pulse(agent.data_dir, name)
        if pulse is None or agent.line.state not in RUNNING_STATES:
            raise AgentConflictError(f"agent {name} is not running ({agent.line.state})")
        os.kill(pulse.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self._alive(pulse.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.agent(name, now_ms)

    def _halted_here(self) -> bool:
        """Whether the server's data directory's global kill switch holds: each served agent
        has a risk state of its own, so it would not see that switch."""
        if not self.root.is_dir():
            return False
        store = RiskState(
            self.root, storage_for(self.settings, self.root).state_store("risk_state")
        )
        report = status_all(store, self.settings.breakers)
        return bool(report.global_switch.state.value == "HALTED")

    def _first_pulse(
        self, folder: Path, name: str, process: subprocess.Popen[bytes]
    ) -> AgentPulse | None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            pulse = read_pulse(folder, name)
            if pulse is not None and pulse.pid == process.pid:
                return pulse
            if process.poll() is not None:
                return None
            time.sleep(0.05)
        return read_pulse(folder, name)

    def _alive(self, pid: int) -> bool:
        self._reap()
        return process_alive(pid)

    def _reap(self) -> None:
        with self._guard:
            for pid, process in list(self._children.items()):
                if process.poll() is not None:
                    del self._children[pid]

    def _roots(self) -> Sequence[Path]:
        return [self.root, *served_roots(self.root)]


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].removeprefix("error: ") if lines else ""
