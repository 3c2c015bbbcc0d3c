"""What `audit verify` concludes about one run, from its chain and from records kept outside the
trace store: the run registry (which runs exist, where their chains stood) and the ledger
(which orders and fills the run made).

A reader takes no lock while runs write, so the registry is read twice: before the store (its
marks were written after the traces they name, so the store must hold them) and after it (a
process writing past a seal registered itself before its first trace, so a chain that carries
on past the seal read afterwards was extended behind the registry's back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.run_registry import RegisteredRun
from memory.audit import ChainReport, missing_tail

Status = Literal["ok", "running", "incomplete", "interrupted", "broken"]


@dataclass(frozen=True)
class Evidence:
    """What is known of a run apart from its chain."""

    before: RegisteredRun | None
    """The registry's record of the run, read before the store (None: not registered)."""
    after: RegisteredRun | None
    """The same, read after the store."""
    registry: bool
    """Whether the data directory has a readable registry at all."""
    strict_registry: bool
    """Whether a run the registry does not know is tampering (an embedded store: only this
    data directory's runs write to it)."""
    cycles_ran: int
    """The run's own count of its cycles, from its run record."""
    running: bool
    """A live process holds the run's spool."""
    spooled: bool
    """Traces of the run wait in the local spool."""
    ledger: tuple[set[str], set[str]] | None
    """The client order ids of the run's orders and fills in the ledger, if it has any."""
    account_orders: frozenset[str] = frozenset()
    """The client order ids of every order in the ledger, whichever run placed it: a stop an
    agent restarted after a kill places for an entry of its previous run is that entry's."""


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: str


def judge(report: ChainReport, evidence: Evidence) -> Verdict:
    """The run's status and the line that says why."""
    stored = report.reason != "the store holds no such run"
    if report.altered and stored:
        return Verdict("broken", f"first broken link at trace {report.broken_seq}: {report.reason}")
    problem = _registry_problem(report, evidence, stored)
    if problem is not None:
        return Verdict("broken", problem)
    if not stored:
        return _without_traces(evidence)
    if report.interrupted_at is not None:
        if evidence.running:
            return Verdict("running", f"{report.traces:,} traces written so far, chain intact")
        return Verdict(
            "interrupted",
            f"{report.reason}; `tradegraph audit repair` moves the head record to trace "
            f"{report.end_seq}, which the chain proves",
        )
    lost = missing_tail(report, evidence.cycles_ran)
    if lost and evidence.running:
        return Verdict(
            "running",
            f"{report.traces:,} traces written so far, chain intact, {lost:,} more cycle(s) "
            "still buffered by the live run",
        )
    if lost:
        where = " (they wait in the spool)" if evidence.spooled else " (the process was killed)"
        return Verdict(
            "incomplete",
            f"the run recorded {evidence.cycles_ran:,} cycles but the chain holds "
            f"{report.traces:,} traces: its last {lost:,} were never written{where}; "
            f"`tradegraph run --resume {report.run_id}` rebuilds them",
        )
    problem = _ledger_problem(report, evidence)
    if problem is not None:
        return Verdict("broken", problem)
    pruned = (
        f", traces up to {report.pruned_through} pruned (anchored)"
        if report.pruned_through is not None
        else ""
    )
    return Verdict("ok", f"{report.traces:,} traces, chain intact, head {report.head}{pruned}")


def _without_traces(evidence: Evidence) -> Verdict:
    """A run the store holds nothing of: one that never wrote a trace, or one deleted."""
    orders, fills = evidence.ledger or (set(), set())
    if evidence.running:
        return Verdict("running", "no trace written yet")
    if evidence.after is None and evidence.registry and (orders or fills):
        return Verdict(
            "broken",
            f"the ledger holds {len(orders)} order(s) and {len(fills)} fill(s) of this run, "
            "but neither the store nor the run registry knows it: the run was deleted",
        )
    if evidence.cycles_ran or orders:
        return Verdict(
            "incomplete",
            f"the run recorded {evidence.cycles_ran:,} cycles but the store holds none of "
            f"its traces (the process was killed before its first batch was written); "
            f"`tradegraph run --resume` rebuilds them",
        )
    return Verdict("ok", "no traces: it ended before its first cycle")


def _registry_problem(report: ChainReport, evidence: Evidence, stored: bool) -> str | None:
    if evidence.after is None:
        if stored and evidence.registry and evidence.strict_registry:
            return (
                "the store holds its traces but the run registry does not know the run: "
                "it was put in the store behind the registry's back"
            )
        return None
    if evidence.before is not None:
        for point in evidence.before.points:
            problem = _point_problem(report, evidence, stored, point.kind, point.seq, point.head)
            if problem is not None:
                return problem
    sealed = evidence.after.sealed
    if sealed is not None and stored and report.end_seq > sealed.seq and not evidence.running:
        return (
            f"the chain carries on to trace {report.end_seq}, past trace {sealed.seq} where "
            "the run registry sealed it when the run ended: traces were added afterwards"
        )
    return None


def _point_problem(
    report: ChainReport, evidence: Evidence, stored: bool, kind: str, seq: int, head: str
) -> str | None:
    """A position the registry recorded that the stored chain no longer shows."""
    if seq < 0:
        return None
    pruned = report.pruned_through
    if pruned is not None and seq <= pruned:
        if seq == pruned and head != report.anchor_hash:
            return (
                f"the chain's anchor (trace {seq}) is {report.anchor_hash}, but the run "
                f"registry recorded {head} there: the chain was rewritten"
            )
        return None
    if seq > report.end_seq:
        if kind == "seal" and evidence.spooled:
            return None  # written at the next flush: the tail is reported incomplete
        if not stored:
            return (
                f"the run is in the registry, which saw its chain reach trace {seq}, but "
                "the store holds none of its traces: the run was deleted"
            )
        return (
            f"the run registry saw its chain reach trace {seq} ({head}), but the store's "
            f"chain ends at trace {report.end_seq}: traces were deleted"
        )
    found = report.hashes.get(seq)
    if found != head:
        return (
            f"trace {seq} hashes to {found}, but the run registry recorded {head} there: "
            "the chain was rewritten"
        )
    return None


PROTECTIVE_SUFFIXES = ("-sl", "-sx")
"""An exchange broker's stop for an entry: its native stop order, or the exit it sends when it
holds the stop itself (tools.execution.exchange_stops); traced through the entry's trace."""


def _protects(client_order_id: str) -> str | None:
    """The entry a protective order's id derives from (None: not a protective order)."""
    if client_order_id.endswith(PROTECTIVE_SUFFIXES):
        return client_order_id[:-3]
    return None


def _ledger_problem(report: ChainReport, evidence: Evidence) -> str | None:
    """For a run that ended with every trace in place: every order and fill in the ledger has
    its trace, and every order and fill a trace records is in the ledger. A run that is still
    going, was killed or was pruned is not compared (its ledger runs ahead of its traces, or
    its oldest traces are gone)."""
    before, after = evidence.before, evidence.after
    if before is None or after is None or evidence.running or evidence.spooled:
        return None
    sealed = after.sealed
    if sealed is None or before.marks != after.marks or report.pruned_through is not None:
        return None
    orders, fills = evidence.ledger or (set(), set())
    traced = set(report.orders) | set(report.fills)
    explained = traced | evidence.account_orders
    protective = {i for i in orders | fills if _protects(i) in explained}
    for client_order_id in sorted(orders - traced - protective - set(report.noted)):
        return f"the ledger holds order {client_order_id}, which no trace of the run records"
    for client_order_id in sorted(fills - set(report.fills) - protective - set(report.noted)):
        return f"the ledger holds a fill of {client_order_id}, which no trace of the run records"
    for client_order_id, seq in sorted(report.orders.items(), key=lambda x: x[1]):
        if client_order_id not in orders:
            return f"trace {seq} records order {client_order_id}, which the ledger does not hold"
    for client_order_id, seq in sorted(report.fills.items(), key=lambda x: x[1]):
        if client_order_id not in fills:
            return (
                f"trace {seq} records a fill of {client_order_id}, which the ledger does not hold"
            )
    return None
