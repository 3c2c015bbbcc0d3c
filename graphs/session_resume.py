"""Starting a session's run, or resuming one that was killed: its run record, its account's
breaker records set back to how they were when it started (a manual halt since then stays),
its sealed traces checked link by link, and the analyses they recorded, replayed to an
analyst that would not decide the same again (see `graphs.session`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agents.base import Analyst, AnalystResult, LlmUsage
from core.accounts import RunRecord
from core.backends import AccountStore
from core.errors import UserError
from core.risk_state import RiskState
from core.types import Trace
from memory.traces import load_run, verify_chain
from risk.breakers.board import MANUAL
from risk.breakers.keys import PREFIX

if TYPE_CHECKING:
    from graphs.session import SessionPlan


def start_or_resume(
    plan: SessionPlan, accounts: AccountStore, store: RiskState, resume: bool
) -> RunRecord:
    """The run's record: a new one (refused while the account has a run to resume first), or
    the killed run's, its breaker records set back for the replay of its cycles."""
    account = plan.account_name
    prefix = f"{PREFIX}{account}/"
    if not resume:
        unfinished = [r for r in accounts.unfinished(account) if r.run_id != plan.run_id]
        if plan.live or plan.scheduled:  # a killed live run is not replayed: this one goes on
            for earlier in unfinished:
                accounts.set_status(earlier.run_id, "interrupted")
            unfinished = []
        if unfinished and plan.account is not None:
            raise UserError(
                f"account {account} has a run that did not finish ({unfinished[0].run_id}): "
                f"resume it first with `tradegraph run --resume {unfinished[0].run_id}`"
            )
        if accounts.run(plan.run_id) is not None:
            raise UserError(f"run {plan.run_id} exists already: resume it with --resume")
        record = RunRecord(
            run_id=plan.run_id,
            account=account,
            status="running",
            started_ms=_now_ms(),
            request=plan.request,
            breaker_state={key: store.get(key) or "" for key in store.keys(prefix)},
        )
        accounts.start_run(record)
        return record
    found = accounts.run(plan.run_id)
    if found is None:
        raise UserError(f"no run {plan.run_id} in this data directory: nothing to resume")
    if found.status == "finished":
        raise UserError(f"run {plan.run_id} finished: there is nothing to resume")
    _restore_breakers(store, prefix, found.breaker_state)
    accounts.set_status(plan.run_id, "running")
    return found


def _restore_breakers(store: RiskState, prefix: str, saved: dict[str, str]) -> None:
    """Set the account's breaker records back to how they were when the run started, so the
    replayed cycles trip exactly what they tripped the first time. A manual halt engaged since
    then stays: an operator's halt is never lifted but by an explicit resume."""
    kill_key = f"{prefix}kill_switch"
    current_kill = store.get(kill_key)
    for key in store.keys(prefix):
        if key not in saved:
            store.delete(key)
    for key, value in saved.items():
        store.put(key, value)
    if current_kill is not None and current_kill != saved.get(kill_key) and _manual(current_kill):
        store.put(kill_key, current_kill)


def _manual(record: str) -> bool:
    """An engaged kill switch record written by an operator's `halt` (unreadable counts too:
    it is kept, and the board treats it as a halt)."""
    try:
        parsed = json.loads(record)
    except ValueError:
        return True
    return not isinstance(parsed, dict) or (
        parsed.get("engaged") is True and parsed.get("by") == MANUAL
    )


def sealed_traces(traces: Any, run_id: str) -> list[Trace]:
    """The run's traces as sealed before it was killed, checked link by link."""
    sealed = load_run(traces.collection, run_id)
    expected = list(range(len(sealed)))
    if [t.seq for t in sealed] != expected or verify_chain(sealed) is not None:
        raise UserError(
            f"run {run_id}'s stored traces do not form an intact chain: "
            f"`tradegraph audit verify --run {run_id}` says where; it cannot be resumed"
        )
    return sealed


def recorded_analysis(
    sealed: list[Trace], analyst: Analyst
) -> Callable[[int], AnalystResult | None] | None:
    """While catching up, an analyst that is not deterministic (Claude) is not asked again:
    the cycle gets the analysis its sealed trace recorded (no second bill, the same decision).
    A deterministic analyst decides again, which also rebuilds its own state."""
    if not sealed or getattr(analyst, "deterministic", False):
        return None
    by_seq = {trace.seq: trace for trace in sealed}

    def recorded(seq: int) -> AnalystResult | None:
        trace = by_seq.get(seq)
        if trace is None:
            return None
        return AnalystResult(
            proposal=trace.proposal,
            model=trace.model,
            prompt_version=trace.prompt_version,
            messages=trace.messages,
            usage=LlmUsage.model_validate(trace.llm) if trace.llm else LlmUsage(),
        )

    return recorded


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
