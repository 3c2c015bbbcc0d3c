"""Stalls an agent cannot tell of itself: its process is gone, or its heartbeat stopped, while
its pulse still says it runs.

A running agent tells of a feed that closed no candle (`graphs.agent.runner`), but a process
that was killed or froze says nothing: whoever reads the pulses from outside (the server, see
`api.server.agent_watch`) tells it instead, once per episode. An episode ends when the agent
beats again or another process takes its name over; a dead process is one episode for good.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

from core.notifications import Notifier, stalled_notice
from graphs.agent.pulse import STALLED_AFTER_HEARTBEATS, AgentPulse, process_alive

CLAIMS_TO_RUN: Final = ("starting", "running", "stopping")

Episode = tuple[str, str, int, int]
"""An agent's data directory, its name, its process and when that process started it."""


def silent_stall(
    pulse: AgentPulse, now_ms: int, alive: Callable[[int], bool] = process_alive
) -> str | None:
    """Why an agent whose pulse says it runs is not running (None: it is, or says it ended)."""
    if pulse.phase not in CLAIMS_TO_RUN:
        return None
    if not alive(pulse.pid):
        return f"its process {pulse.pid} is gone while its pulse says {pulse.phase}"
    late_ms = now_ms - pulse.heartbeat_ms
    if late_ms > STALLED_AFTER_HEARTBEATS * pulse.heartbeat_seconds * 1000:
        return (
            f"no heartbeat for {late_ms / 1000:.0f} s "
            f"(one is due every {pulse.heartbeat_seconds:g} s)"
        )
    return None


class StallWatch:
    """Tells `notifier` of each agent that stalled silently, once per episode, however often
    it is asked."""

    def __init__(self, notifier: Notifier, alive: Callable[[int], bool] = process_alive) -> None:
        self._notifier = notifier
        self._alive = alive
        self._stalled: set[Episode] = set()

    def check(self, pulses: Iterable[tuple[Path, AgentPulse]], now_ms: int) -> list[str]:
        """Look at every agent's pulse (with its data directory) once; the names of the agents
        told of now (a stall told before and still under way is not told again)."""
        stalled: set[Episode] = set()
        told: list[str] = []
        for root, pulse in pulses:
            why = silent_stall(pulse, now_ms, self._alive)
            if why is None:
                continue
            episode = (str(root), pulse.name, pulse.pid, pulse.started_ms)
            stalled.add(episode)
            if episode not in self._stalled:
                self._notifier.notify(stalled_notice(pulse.name, pulse.spec.account, why, now_ms))
                told.append(pulse.name)
        self._stalled = stalled
        return told
