"""An agent's pulse: one small file per agent, `agents/NAME.json` in the data directory,
rewritten atomically at every decision and every heartbeat, so `agent list|status|stop` read
it without touching the stores a running agent writes.

The file says what the agent was asked to do (so `agent start --name NAME` alone carries on
with the same options), which process runs it, and what it did last. Whether it is running,
stalled, halted or stopped is judged by the reader from the heartbeat's age, the process and
the account's kill switch: a killed agent cannot say it died.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from core.datadir import write_atomically
from core.errors import UserError

AGENTS_FOLDER = "agents"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")
STALLED_AFTER_HEARTBEATS = 3
"""A heartbeat this many intervals late means the agent's process is stuck."""

Phase = Literal["starting", "running", "stopping", "stopped", "finished", "failed"]
State = Literal[
    "running", "stalled", "halted", "stopped", "finished", "failed", "starting", "crashed"
]


class AgentSpec(BaseModel):
    """What an agent was asked to trade: kept, so a restart by name trades the same."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    market: str
    symbols: tuple[str, ...]
    timeframe: str
    broker: str = "paper"
    account: str
    speed: float | None = None
    """Market milliseconds per wall millisecond for a played market; None live."""
    start: str | None = None
    end: str | None = None
    bars: int | None = None
    """A played market's window (ISO times and a candle count), as given."""
    analyst: str = "offline"


class LastDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    ts: int
    symbol: str
    action: str
    verdict: str


class AgentPulse(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    spec: AgentSpec
    pid: int
    phase: Phase
    run_id: str
    started_ms: int
    heartbeat_ms: int
    heartbeat_seconds: float
    origin_wall_ms: int | None = None
    """A played market's wall time at its first open (kept across restarts)."""
    next_wake_ms: int | None = None
    last_close_ms: int | None = None
    """The last candle close the agent decided on (market time)."""
    decisions: int = 0
    missed: int = 0
    """Candle closes that fell while the agent was down or behind: recorded, not traded."""
    last: LastDecision | None = None
    equity: float | None = None
    positions: dict[str, float] = {}
    message: str = ""


def check_agent_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise UserError(
            f"--name {name!r} is not a usable agent name: letters, digits, '.', '_' or '-', "
            "at most 48 characters, starting with a letter or digit"
        )
    return name


def pulse_path(root: Path, name: str) -> Path:
    return root / AGENTS_FOLDER / f"{name}.json"


def log_path(root: Path, name: str) -> Path:
    return root / AGENTS_FOLDER / f"{name}.log"


def write_pulse(root: Path, pulse: AgentPulse) -> None:
    path = pulse_path(root, pulse.name)
    path.parent.mkdir(exist_ok=True)
    write_atomically(path, pulse.model_dump_json(indent=1), "the agent's pulse")


def read_pulse(root: Path, name: str) -> AgentPulse | None:
    """The agent's last pulse; None if it never ran here; UserError if the file is damaged."""
    path = pulse_path(root, name)
    try:
        return AgentPulse.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (ValidationError, ValueError, OSError) as exc:
        raise UserError(f"{path} cannot be read ({type(exc).__name__}): remove it") from None


def all_pulses(root: Path) -> list[AgentPulse]:
    folder = root / AGENTS_FOLDER
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        pulse = read_pulse(root, path.stem)
        if pulse is not None:
            found.append(pulse)
    return found


def process_alive(pid: int) -> bool:
    """Whether `pid` is a live tradegraph agent process (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return b"agent" in cmdline and b"start" in cmdline


def agent_state(pulse: AgentPulse, *, halted: bool, now_ms: int | None = None) -> State:
    """How the agent is doing now, from its pulse, its process and its account's latch."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if pulse.phase in ("stopped", "finished", "failed"):
        return pulse.phase
    if not process_alive(pulse.pid):
        return "crashed"  # gone without ending its pulse: killed, out of memory, the host died
    late = now_ms - pulse.heartbeat_ms > STALLED_AFTER_HEARTBEATS * pulse.heartbeat_seconds * 1000
    if late or pulse.message.startswith("stalled"):
        return "stalled"
    if halted:
        return "halted"
    return "starting" if pulse.phase == "starting" else "running"


def pulse_summary(pulse: AgentPulse, state: State) -> str:
    """One JSON line of the pulse with the state judged now (for `agent status --json`)."""
    return json.dumps({**json.loads(pulse.model_dump_json()), "state": state}, sort_keys=True)
