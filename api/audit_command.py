"""`tradegraph audit verify|show|search|prune`: read the audit trail the runs left behind.

The store is the one the runs wrote: the data directory's chroma folder, or the Chroma server
named by TRADEGRAPH_CHROMA_URL. These commands never create a store: auditing a folder that
holds none is a mistake, said in one line.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from core.errors import UserError
from core.text import shown

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

    from core.settings import Settings

console = Console(soft_wrap=True)
INDENT = " " * 11
"""Where `readable` starts a line's value: a value's own lines are indented under it, so a
thesis cannot print a line that looks like one of the trace's own."""
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([dhm])$")
UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000}


def _open(data_dir: Path | None) -> tuple[Settings, Collection, Collection, str]:
    from core.settings import load_settings
    from memory.store import existing_collection, open_chroma
    from memory.traces import COLLECTION, RUNS_COLLECTION

    settings = load_settings(data_dir=data_dir)
    root = settings.data_dir.expanduser().resolve()
    where = settings.chroma_url or str(root / "chroma")
    if not settings.chroma_url and not (root / "chroma").is_dir():
        raise UserError(
            f"no trace store in {root}: run `tradegraph run` first, or pass the --data-dir "
            "of the runs to audit"
        )
    client = open_chroma(root, settings.chroma_url)
    traces = existing_collection(client, COLLECTION, where)
    runs = existing_collection(client, RUNS_COLLECTION, where)
    return settings, traces, runs, where


def verify(run: str | None, head: str | None, data_dir: Path | None) -> None:
    """Check every chain (or one run's); exit 1 naming the first broken link."""
    from memory.audit import missing_tail, run_ids, verify_run

    if head is not None and (run is None or not re.fullmatch(r"[0-9a-f]{64}", head)):
        raise UserError(
            "--head takes the 64-hex chain head of one run (its summary's "
            "trace_store.chain_head), with --run"
        )
    settings, traces, runs, where = _open(data_dir)
    ids = [run] if run else run_ids(traces, runs)
    if not ids:
        raise UserError(f"no traces in {where}: nothing to verify")
    cycles_ran = _cycles_ran(settings.data_dir.expanduser().resolve())
    broken = incomplete = 0
    for run_id in ids:
        report = verify_run(traces, runs, run_id, expected_head=head)
        pruned = (
            f", traces up to {report.pruned_through} pruned (anchored)"
            if report.pruned_through is not None
            else ""
        )
        if report.reason == "the store holds no such run":
            raise UserError(f"no run {run_id!r} in {where}: see `tradegraph audit verify`")
        lost = missing_tail(report, cycles_ran.get(run_id, 0)) if report.intact else 0
        if lost and _still_running(settings.data_dir.expanduser().resolve(), run_id):
            console.print(
                f"[yellow]running[/] run {_safe(run_id)}: {report.traces:,} traces written so far, "
                f"chain intact, {lost:,} more cycle(s) still buffered by the live run"
            )
        elif lost:
            incomplete += 1
            console.print(
                f"[bold red]INCOMPLETE[/] run {_safe(run_id)}: the run recorded "
                f"{cycles_ran[run_id]:,} cycles but the chain holds {report.traces:,} traces: "
                f"its last {lost:,} were never written (the process was killed); "
                f"`tradegraph run --resume {_safe(run_id)}` rebuilds them"
            )
        elif report.intact:
            console.print(
                f"[green]ok[/]      run {_safe(run_id)}: {report.traces:,} traces, chain intact, "
                f"head {report.head[:12]}{pruned}"
            )
        else:
            broken += 1
            console.print(
                f"[bold red]BROKEN[/]  run {_safe(run_id)}: first broken link at trace "
                f"{report.broken_seq}: {_safe(report.reason or '')}{pruned}"
            )
    if broken:
        console.print(f"{broken} of {len(ids)} chains broken: the audit trail was altered")
    if incomplete:
        console.print(f"{incomplete} of {len(ids)} chains incomplete: their runs were killed")
    if broken or incomplete:
        sys.exit(1)


def _cycles_ran(root: Path) -> dict[str, int]:
    """Each run's own count of its cycles, from the run records beside the ledger."""
    from core.accounts import AccountBook

    if not (root / "ledger.sqlite").is_file():
        return {}
    book = AccountBook(root / "ledger.sqlite")
    try:
        return book.cycles_by_run()
    finally:
        book.close()


def _still_running(root: Path, run_id: str) -> bool:
    """A live run holds its spool's lock; a killed one does not."""
    from memory.spool import SpoolBusyError, TraceSpool

    try:
        TraceSpool(root / "spool", run_id).release()
    except SpoolBusyError:
        return True
    return False


def show(trace_ref: str, data_dir: Path | None) -> None:
    from memory.audit import load_trace, readable
    from memory.traces import trace_id

    _, traces, _, where = _open(data_dir)
    run_id, _, seq = trace_ref.rpartition(":")
    if not run_id or not re.fullmatch(r"[0-9]{1,12}", seq):
        raise UserError(
            f"{trace_ref!r} is not a trace id: use RUN_ID:SEQ as `audit search` prints it"
        )
    try:
        trace = load_trace(traces, trace_id(run_id, int(seq)))
    except ValueError as exc:
        raise UserError(f"{exc}: the store was altered, see `tradegraph audit verify`") from None
    if trace is None:
        raise UserError(f"no trace {trace_ref} in {where}: find ids with `tradegraph audit search`")
    for line in readable(trace):
        text = shown(line).replace("\n", "\n" + INDENT)
        console.print(escape(text), soft_wrap=True, highlight=False)


def search(
    text: str,
    *,
    symbol: str | None,
    action: str | None,
    verdict: str | None,
    run: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    data_dir: Path | None,
) -> None:
    from memory.embeddings import text_embedder
    from memory.trace_search import search as search_traces

    if not text.strip():
        raise UserError("the search text is empty: say what to look for, e.g. 'stop-loss hit'")
    if limit <= 0:
        raise UserError("--limit must be at least 1")
    if action is not None and action.upper() not in ("BUY", "SELL", "HOLD"):
        raise UserError(f"--action {action!r}: choose BUY, SELL or HOLD")
    settings, traces, _, _ = _open(data_dir)
    kind = (traces.metadata or {}).get("embedding", "")
    embedder = text_embedder(settings.memory.embedding)
    if kind != f"{embedder.name}-{embedder.dim}":
        raise UserError(
            f"these traces are embedded with {kind!r} but memory.embedding is "
            f"{settings.memory.embedding!r}: set it to match to search them"
        )
    hits = search_traces(
        traces,
        embedder,
        text,
        filters={
            "symbol": symbol,
            "action": action.upper() if action else None,
            "verdict": verdict,
            "run_id": run,
            "ts_from": _ms(start),
            "ts_to": _ms(end),
        },
        limit=limit,
    )
    if not hits:
        console.print("no trace matches these filters")
        return
    for hit in hits:
        outcome = f"  24 candles later {hit.outcome_24:+.2%}" if hit.outcome_24 is not None else ""
        when = datetime.fromtimestamp(hit.ts / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
        console.print(
            f"[cyan]{_safe(hit.id)}[/]  {when} UTC  {_safe(hit.symbol)}  "
            f"[bold]{_safe(hit.action)}[/] {_safe(hit.verdict)}{outcome}  "
            f"(distance {hit.distance:.3f})",
            highlight=False,
        )
        headline = _safe(hit.headline.split(": ", 1)[-1][:300])
        console.print("    " + headline, soft_wrap=False, highlight=False)


def prune(older_than: str, run: str | None, data_dir: Path | None) -> None:
    """Delete traces recorded longer ago than `older_than`; each chain keeps its anchor."""
    from memory.audit import prune_run, run_ids

    match = DURATION.match(older_than.strip())
    if match is None:
        raise UserError(f"--older-than {older_than!r}: use a duration such as 90d, 12h or 30m")
    age_ms = float(match.group(1)) * UNIT_MS[match.group(2)]
    now_ms = int(time.time() * 1000)
    if age_ms > now_ms:
        raise UserError(f"--older-than {older_than}: that is before 1970, nothing is that old")
    cutoff = int(now_ms - age_ms)
    _, traces, runs, _ = _open(data_dir)
    total = 0
    for run_id in [run] if run else run_ids(traces, runs):
        result = prune_run(traces, runs, run_id, recorded_before_ms=cutoff)
        if result.removed:
            total += result.removed
            console.print(
                f"run {_safe(run_id)}: pruned {result.removed:,} traces, chain anchored at trace "
                f"{result.anchor_seq}"
            )
    before = datetime.fromtimestamp(cutoff / 1000, tz=UTC)
    console.print(f"pruned {total:,} traces recorded before {before:%Y-%m-%d %H:%M} UTC")


def _safe(text: str) -> str:
    """Text read from the store, on one line, with no control characters nor Rich markup."""
    return escape(shown(text, one_line=True))


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)
