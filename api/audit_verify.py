"""`tradegraph audit verify|repair`: whether the audit trail still holds, and settling the
chains an interrupted write left behind.

Every chain (each run's traces) is judged against itself, the run registry, the ledger and
the spool a live run holds (`memory.integrity`); the situations, the lessons and the operator
audit trail against their hashes. Repair moves only a head record the chain itself proves.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from api.audit_command import console, data_root, open_audit, safe
from core.errors import UserError

if TYPE_CHECKING:
    from core.backends import Storage
    from core.run_registry import RegisteredRun
    from memory.audit import ChainReport
    from memory.integrity import Verdict


def verify(run: str | None, head: str | None, data_dir: Path | None) -> None:
    """Check every chain (or one run's) against itself, the run registry and the ledger, and
    the situations and lessons against their hashes; exit 1 naming what does not hold."""
    from core.backends import storage_for
    from memory.audit import run_ids, verify_run
    from memory.store_repair import rebuilds_note

    if head is not None and (run is None or not re.fullmatch(r"[0-9a-f]{64}", head)):
        raise UserError(
            "--head takes the 64-hex chain head of one run (its summary's "
            "trace_store.chain_head), with --run"
        )
    root = data_root(data_dir)
    before, registry_problem = _registry(root)  # first: its marks name traces already written
    settings, traces, runs, where = open_audit(data_dir)
    storage = storage_for(settings, root)
    ledger = storage.rows_by_run()
    cycles_ran, accounts = _run_records(storage)
    if run:
        ids = [run]
    else:
        stray = {r for r, (o, f) in ledger.items() if (o or f) and r and r not in accounts}
        ids = sorted(set(run_ids(traces, runs)) | set(before or {}) | stray)
    if not ids:
        raise UserError(f"no traces in {where}: nothing to verify")
    reports = [verify_run(traces, runs, run_id, expected_head=head) for run_id in ids]
    after, _ = _registry(root)
    counts = {"broken": 0, "incomplete": 0, "interrupted": 0}
    if registry_problem is not None:
        counts["broken"] += 1
        console.print(f"[bold red]BROKEN[/]  run registry: {escape(registry_problem)}")
    elif before is None:
        console.print(
            f"[yellow]note[/]    no run registry in {root} (its runs predate it): a deleted "
            "run or a rewritten chain is caught only with --head"
        )
    rebuilt = rebuilds_note(root)  # the index, not the records the audit checks
    if rebuilt:
        console.print(f"[yellow]note[/]    {safe(rebuilt)}")
    account_orders = frozenset().union(*(orders for orders, _ in ledger.values()))
    for report in reports:
        verdict = _judge(
            report, root, before, after, ledger, account_orders, cycles_ran, settings.chroma_url
        )
        if verdict is None:
            raise UserError(f"no run {report.run_id!r} in {where}: see `tradegraph audit verify`")
        if verdict.status in counts:
            counts[verdict.status] += 1
        label = VERDICT_LABELS[verdict.status]
        console.print(f"{label} run {safe(report.run_id)}: {safe(verdict.message)}")
    if not run:
        counts["broken"] += _verify_memory(root, settings.chroma_url, after)
        counts["broken"] += _verify_operator_audit(root)
    if counts["broken"]:
        console.print(f"{counts['broken']} broken: the audit trail was altered")
    if counts["incomplete"]:
        console.print(
            f"{counts['incomplete']} of {len(ids)} chains incomplete: their runs were killed"
        )
    if counts["interrupted"]:
        console.print(
            f"{counts['interrupted']} of {len(ids)} chains interrupted mid-write: "
            "`tradegraph audit repair` settles them"
        )
    if any(counts.values()):
        sys.exit(1)


VERDICT_LABELS = {
    "ok": "[green]ok[/]     ",
    "running": "[yellow]running[/]",
    "incomplete": "[bold red]INCOMPLETE[/]",
    "interrupted": "[bold yellow]INTERRUPTED[/]",
    "broken": "[bold red]BROKEN[/] ",
}


def _judge(
    report: ChainReport,
    root: Path,
    before: dict[str, RegisteredRun] | None,
    after: dict[str, RegisteredRun] | None,
    ledger: dict[str, tuple[set[str], set[str]]],
    account_orders: frozenset[str],
    cycles_ran: dict[str, int],
    chroma_url: str | None,
) -> Verdict | None:
    """The verdict on one run; None when nothing anywhere knows the run."""
    from memory.integrity import Evidence, judge

    run_id = report.run_id
    known = (
        report.reason != "the store holds no such run"
        or run_id in (before or {})
        or run_id in (after or {})
        or run_id in cycles_ran
        or any(ledger.get(run_id, ((), ())))
    )
    if not known:
        return None
    evidence = Evidence(
        before=(before or {}).get(run_id),
        after=(after or {}).get(run_id),
        registry=after is not None,
        strict_registry=chroma_url is None,
        cycles_ran=cycles_ran.get(run_id, 0),
        running=_still_running(root, run_id),
        spooled=(root / "spool" / f"traces-{run_id}.jsonl").is_file(),
        ledger=ledger.get(run_id),
        account_orders=account_orders,
    )
    return judge(report, evidence)


def _verify_memory(
    root: Path, chroma_url: str | None, registered: dict[str, RegisteredRun] | None
) -> int:
    """Situations and lessons against their content hashes; how many collections fail. A
    record without a hash is from before records were hashed unless the run that wrote it
    was registered (registration came with the hashes): then its hash was stripped."""
    from memory.audit import verify_lessons, verify_situations
    from memory.lessons import COLLECTION as LESSONS
    from memory.situations import COLLECTION as SITUATIONS
    from memory.store import open_chroma

    client = open_chroma(root, chroma_url)  # the store `open_audit` opened: the same client
    failed = 0
    for name, check in ((SITUATIONS, verify_situations), (LESSONS, verify_lessons)):
        try:
            collection = client.get_collection(name, embedding_function=None)
        except Exception:
            continue  # a store from before memory had this collection
        report = check(collection)
        opened = {r for r, run in (registered or {}).items() if run.opened}
        stripped = [i for i, run_id in report.unhashed if run_id in opened]
        legacy = len(report.unhashed) - len(stripped)
        if report.altered or stripped:
            failed += 1
            first = (report.altered or tuple(stripped))[0]
            console.print(
                f"[bold red]BROKEN[/]  {name}: {len(report.altered) + len(stripped):,} of "
                f"{report.checked:,} do not match the hash they were written with (first: "
                f"{escape(first)}): edited since"
            )
        else:
            older = f" ({legacy:,} from before records were hashed, unchecked)" if legacy else ""
            console.print(
                f"[green]ok[/]      {name}: {report.checked:,}, each matching its hash{older}"
            )
    return failed


def _verify_operator_audit(root: Path) -> int:
    """The operator audit trail (requests to the service) against its chain: 1 if broken."""
    from core.chained_log import ChainedLogBrokenError
    from core.operator_audit import OperatorAudit

    audit = OperatorAudit(root)
    if not audit.log.exists():
        return 0
    try:
        count = len(audit.read())
    except ChainedLogBrokenError as exc:
        console.print(f"[bold red]BROKEN[/]  operator audit trail: {safe(str(exc))}")
        return 1
    console.print(f"[green]ok[/]      operator audit trail: {count:,} request(s), chained")
    return 0


def _registry(root: Path) -> tuple[dict[str, RegisteredRun] | None, str | None]:
    """The registered runs (None when there is no registry), and why it is broken, if it is."""
    from core.chained_log import ChainedLogBrokenError
    from core.run_registry import RunRegistry

    registry = RunRegistry(root)
    if not registry.exists():
        return None, None
    try:
        return registry.runs(), None
    except ChainedLogBrokenError as exc:
        return None, f"{exc}: restore it from a backup"


def _run_records(storage: Storage) -> tuple[dict[str, int], set[str]]:
    """Each run's own count of its cycles, from the run records beside the ledger, and the
    account names (rows of a ledger from before runs were recorded carry those)."""
    if not storage.has_ledger():
        return {}, set()
    book = storage.accounts()
    try:
        return book.cycles_by_run(), {a.name for a in book.accounts()}
    finally:
        book.close()


def repair(run: str | None, data_dir: Path | None) -> None:
    """Move each head record that an interrupted write left behind to the end its chain
    proves; nothing else. Holds the writer lock: no run writes meanwhile."""
    from core.writer_lock import writer_lock
    from memory.audit import repair_head, run_ids, verify_run

    root = data_root(data_dir)
    with writer_lock(root, "tradegraph audit repair"):
        before, _ = _registry(root)
        _, traces, runs, where = open_audit(data_dir)
        ids = [run] if run else run_ids(traces, runs)
        if not ids:
            raise UserError(f"no traces in {where}: nothing to repair")
        repaired = refused = 0
        for run_id in ids:
            report = verify_run(traces, runs, run_id)
            if report.reason == "the store holds no such run":
                raise UserError(f"no run {run_id!r} in {where}: see `tradegraph audit verify`")
            if report.interrupted_at is None:
                continue
            verdict = _judge(report, root, before, before, {}, frozenset(), {}, None)
            if verdict is None or verdict.status == "broken" or not repair_head(runs, report):
                refused += 1
                console.print(
                    f"[bold red]not repaired[/] run {run_id}: the chain does not prove it "
                    "(see `tradegraph audit verify`)"
                )
                continue
            repaired += 1
            console.print(
                f"run {run_id}: head record moved from trace {report.interrupted_at} to trace "
                f"{report.end_seq} ({report.head}), which the chain proves"
            )
    console.print(f"repaired {repaired} run(s)" + (f", {refused} refused" if refused else ""))
    if refused:
        sys.exit(1)


def _still_running(root: Path, run_id: str) -> bool:
    """A live run holds its spool's lock; a killed one does not."""
    from memory.spool import SpoolBusyError, TraceSpool

    try:
        TraceSpool(root / "spool", run_id).release()
    except SpoolBusyError:
        return True
    return False
