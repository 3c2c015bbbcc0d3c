"""One line saying that a halt is why a run traded nothing, and how to lift it.

A global kill switch lives in the data directory and outlives the runs: engaged once (`tradegraph
risk halt`), it makes every later backtest in that directory decide HOLD or be refused HALTED
at every cycle. The summary table shows the trading state and the trip, but a run that simply
placed no orders is easy to misread as a strategy that found nothing to do; this line says so.
"""

from __future__ import annotations

from core.types.breakers import BreakerStage
from graphs.summary import BreakerTrip, RunSummary
from risk.breakers.kill_switch import GlobalKillSwitch

_HALTED = "HALTED"
_ENGAGING = ("halt", "trip")
_STORE_SUFFIX = " (seen in the store)"
RESUME_HINT = '`tradegraph risk resume --reason "..."` lifts it'


def halt_notice(summary: RunSummary) -> str | None:
    """The line to print under the summary when the run placed no orders and ended HALTED;
    None for any other run (one that traded, or was never halted)."""
    if summary.orders or summary.trading_state != _HALTED:
        return None
    trips = summary.risk.breaker_trips
    global_events = [t for t in trips if _is_global(t)]
    if global_events and global_events[-1].kind in _ENGAGING:
        reason = _shown(global_events[-1].reason)
        return f"no orders: the global kill switch is engaged ({reason}): {RESUME_HINT}"
    halts = [
        t
        for t in trips
        if t.kind in _ENGAGING and t.stage is BreakerStage.HALT and not _is_global(t)
    ]
    account = f" --account {summary.account}" if summary.account else ""
    lift = f'`tradegraph risk resume{account} --reason "..."` lifts it'
    if halts:
        return (
            f"no orders: trading was halted by {halts[0].breaker} "
            f"({_shown(halts[0].reason)}): {lift}"
        )
    refused = summary.denials.get(_HALTED, 0)
    if refused:
        return f"no orders: {refused:,} proposals were refused because trading was HALTED: {lift}"
    return None


def _is_global(trip: BreakerTrip) -> bool:
    """The global switch's own events, and its record found unreadable (which halts every
    account the same way and lifts by the same resume)."""
    if trip.breaker == GlobalKillSwitch.name:
        return True
    return trip.breaker == "store" and f"{GlobalKillSwitch.name} record" in trip.reason


def _shown(reason: str) -> str:
    """'engaged by manual at T: why (seen in the store)' as 'by manual at T: why'."""
    return reason.removesuffix(_STORE_SUFFIX).removeprefix("engaged ")
