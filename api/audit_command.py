"""`tradegraph audit show|search|prune`: read the audit trail the runs left behind (verify and
repair are `api.audit_verify`).

The store is the one the runs wrote: the data directory's chroma folder, or the Chroma server
named by TRADEGRAPH_CHROMA_URL. These commands never create a store: auditing a folder that
holds none is a mistake, said in one line.
"""

from __future__ import annotations

import re
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


def open_audit(data_dir: Path | None) -> tuple[Settings, Collection, Collection, str]:
    """The store the runs wrote (never created here): the settings, its traces and runs
    collections, and where it is, for the messages."""
    from core.settings import load_settings
    from memory.audit_store import open_audit_store

    settings = load_settings(data_dir=data_dir)
    root = settings.data_dir.expanduser().resolve()
    store = open_audit_store(root, settings.chroma_url)
    return settings, store.traces, store.runs, store.where


def data_root(data_dir: Path | None) -> Path:
    from core.settings import load_settings

    return load_settings(data_dir=data_dir).data_dir.expanduser().resolve()


def show(trace_ref: str, data_dir: Path | None) -> None:
    from memory.audit import load_trace, readable
    from memory.audit_store import parse_trace_ref
    from memory.traces import trace_id

    _, traces, _, where = open_audit(data_dir)
    run_id, seq = parse_trace_ref(trace_ref)
    try:
        trace = load_trace(traces, trace_id(run_id, seq))
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
    from memory.audit_store import search_embedder
    from memory.trace_search import search as search_traces

    if not text.strip():
        raise UserError("the search text is empty: say what to look for, e.g. 'stop-loss hit'")
    if limit <= 0:
        raise UserError("--limit must be at least 1")
    if action is not None and action.upper() not in ("BUY", "SELL", "HOLD"):
        raise UserError(f"--action {action!r}: choose BUY, SELL or HOLD")
    settings, traces, _, _ = open_audit(data_dir)
    embedder = search_embedder(traces, settings.memory.embedding)
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
            f"[cyan]{safe(hit.id)}[/]  {when} UTC  {safe(hit.symbol)}  "
            f"[bold]{safe(hit.action)}[/] {safe(hit.verdict)}{outcome}  "
            f"(distance {hit.distance:.3f})",
            highlight=False,
        )
        headline = safe(hit.headline.split(": ", 1)[-1][:300])
        console.print("    " + headline, soft_wrap=False, highlight=False)


def prune(older_than: str, run: str | None, data_dir: Path | None) -> None:
    """Delete traces recorded longer ago than `older_than`; each chain keeps its anchor."""
    from core.writer_lock import writer_lock
    from memory.audit import prune_run, run_ids

    match = DURATION.match(older_than.strip())
    if match is None:
        raise UserError(f"--older-than {older_than!r}: use a duration such as 90d, 12h or 30m")
    age_ms = float(match.group(1)) * UNIT_MS[match.group(2)]
    now_ms = int(time.time() * 1000)
    if age_ms > now_ms:
        raise UserError(f"--older-than {older_than}: that is before 1970, nothing is that old")
    cutoff = int(now_ms - age_ms)
    total = 0
    with writer_lock(data_root(data_dir), "tradegraph audit prune"):
        _, traces, runs, _ = open_audit(data_dir)
        for run_id in [run] if run else run_ids(traces, runs):
            result = prune_run(traces, runs, run_id, recorded_before_ms=cutoff)
            if result.removed:
                total += result.removed
                console.print(
                    f"run {safe(run_id)}: pruned {result.removed:,} traces, chain anchored "
                    f"at trace {result.anchor_seq}"
                )
        checkpoints = _prune_checkpoints(data_dir, cutoff)
    before = datetime.fromtimestamp(cutoff / 1000, tz=UTC)
    console.print(
        f"pruned {total:,} traces and {checkpoints:,} agent checkpoints from before "
        f"{before:%Y-%m-%d %H:%M} UTC"
    )


def _prune_checkpoints(data_dir: Path | None, cutoff_ms: int) -> int:
    """The agents' older checkpoints go with the traces (each keeps its latest)."""
    from core.settings import load_settings
    from graphs.agent.checkpoints import prune_agent_checkpoints

    settings = load_settings(data_dir=data_dir)
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return prune_agent_checkpoints(data_root(data_dir), url, cutoff_ms)


def safe(text: str) -> str:
    """Text read from the store, on one line, with no control characters nor Rich markup."""
    return escape(shown(text, one_line=True))


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)
