"""Every agent of a data directory as its pulse file says, and which accounts are halted:
what `tradegraph agent list|status` and the chat's `list_agents` read (never the stores the
agents write, but the risk state, read only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.backends import storage_for
from core.risk_state import RiskState
from core.settings import Settings
from graphs.agent.pulse import AgentPulse, all_pulses
from risk.breakers.admin import status_all


@dataclass(frozen=True)
class Roster:
    root: Path
    pulses: list[AgentPulse]
    halted: set[str]
    """The accounts whose kill switch (or the global one) holds."""


def agent_roster(settings: Settings) -> Roster:
    """The data directory, its agents' pulses, and the accounts whose kill switch holds."""
    root = settings.data_dir.expanduser().resolve()
    pulses = all_pulses(root) if root.is_dir() else []
    halted: set[str] = set()
    if pulses:
        store = RiskState(root, storage_for(settings, root).state_store("risk_state"))
        report = status_all(store, settings.breakers)
        everything = report.global_switch.state.value == "HALTED"
        halted = {
            name
            for name, snapshot in report.accounts.items()
            if everything or snapshot.state.value == "HALTED"
        } | ({p.spec.account for p in pulses} if everything else set())
    return Roster(root, pulses, halted)
