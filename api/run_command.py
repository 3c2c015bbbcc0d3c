"""`tradegraph run`: drive a paper session from the command line, show progress, summarize.

The session is assembled in `graphs.assembly` (every driver shares it); this module only
shows it: the progress bar, the summary table, the files written."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from core.datadir import write_atomically
from core.errors import UserError
from core.text import shown
from graphs.assembly import PreparedRun, RunRequest, new_run_id, prepare_resume, prepare_run
from graphs.halt_notice import halt_notice

if TYPE_CHECKING:
    from core.notifications import Notifier
    from core.types import Trace
    from graphs.session import CycleObserver
    from graphs.summary import RunSummary

__all__ = [
    "PreparedRun", "RunRequest", "console", "execute_run", "new_run_id", "prepare_run",
    "write_atomically",
]  # fmt: skip

console = Console(stderr=False)


def replay_with_progress(
    prepared: PreparedRun,
    *,
    quiet: bool,
    process_start: float,
    verb: str = "paper run",
    on_cycle: CycleObserver | None = None,
    stop_on_interrupt: bool = False,
    announce: bool = True,
    notifier: Notifier | None = None,
) -> RunSummary:
    """Run the session with a progress bar (and the cassette, if any) and return its summary."""
    from graphs.assembly import run_prepared

    plan, chosen = prepared.plan, prepared.analyst
    if plan.live:
        return trade_live(
            prepared,
            quiet=quiet,
            process_start=process_start,
            on_cycle=on_cycle,
            notifier=notifier,
        )
    info = plan.info
    total = sum(len(series) for _, series in plan.markets)
    label = " [bold yellow]SYNTHETIC DATA[/]" if info.synthetic else ""
    symbols = ",".join(market.symbol for market, _ in plan.markets)
    if announce:
        verb = f"resuming {verb}" if prepared.resume else verb
        account = f" · account [magenta]{_safe(plan.account)}[/]" if plan.account else ""
        console.print(
            f"[bold]tradegraph[/] {verb} [cyan]{plan.run_id}[/] · {_safe(symbols)} "
            f"{info.timeframe} from {_safe(info.source)}{label} · analyst "
            f"[green]{_safe(chosen.name)}[/]{account} · {total:,} candles",
            highlight=False,
        )
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )
    with progress:
        task = progress.add_task("deciding", total=total, rate="")
        step = max(1, total // 200)

        def on_progress(done: int) -> None:
            if done % step == 0 or done == total:
                elapsed = progress.tasks[task].elapsed or 0.0
                rate = f"{done / elapsed:,.0f} decisions/s" if elapsed > 0 else ""
                progress.update(task, completed=done, rate=rate)

        return run_prepared(
            prepared,
            on_progress=on_progress,
            on_cycle=on_cycle,
            started=process_start,
            stop_on_interrupt=stop_on_interrupt,
            notifier=notifier,
        )


def trade_live(
    prepared: PreparedRun,
    *,
    quiet: bool,
    process_start: float,
    on_cycle: CycleObserver | None = None,
    notifier: Notifier | None = None,
) -> RunSummary:
    """A real-time run: one line per decision as candles close, until Ctrl-C or SIGTERM."""
    from graphs.assembly import run_prepared

    plan = prepared.plan
    symbols = ",".join(market.symbol for market, _ in plan.markets)
    broker = {"paper": "[green]paper[/]", "sandbox": "[yellow]sandbox[/]"}.get(
        plan.broker, "[bold red]LIVE[/]"
    )
    console.print(
        f"[bold]tradegraph[/] trading [cyan]{plan.run_id}[/] · {_safe(symbols)} "
        f"{plan.info.timeframe} from {_safe(plan.info.source)} in real time · broker {broker} · "
        f"account [magenta]{_safe(plan.account_name)}[/] · analyst "
        f"[green]{_safe(prepared.analyst.name)}[/] · Ctrl-C stops after the cycle in progress",
        highlight=False,
    )

    def show_cycle(trace: Trace, position: float) -> None:
        if on_cycle is not None:
            on_cycle(trace, position)
        if not quiet:
            console.print(live_line(trace), markup=False, highlight=False, soft_wrap=True)

    return run_prepared(
        prepared,
        on_cycle=show_cycle,
        started=process_start,
        stop_on_interrupt=True,
        notifier=notifier,
    )


def live_line(trace: Trace) -> str:
    """One decision, as a trader scans a blotter: when, what, the verdict, the equity."""
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(trace.ts / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    proposal = trace.proposal
    what = proposal.action.value
    if trace.order is not None:
        what = (
            f"{trace.order.side.value} {trace.order.quantity:g} @ ~{trace.order.reference_price:g}"
        )
    verdict = trace.verdict.value + (f" ({', '.join(trace.refusals)})" if trace.refusals else "")
    events = "".join(f" | {e.kind}: {e.detail}" for e in trace.events)
    return shown(
        f"{when}Z {trace.symbol} {what} → {verdict} · equity {trace.equity:,.2f}{events}",
        one_line=True,
    )


def execute_run(
    request: RunRequest,
    *,
    json_path: Path | None,
    quiet: bool,
    process_start: float,
    resume: str | None = None,
) -> None:
    from graphs.analyst_watch import AnalystUnreachableError
    from tools.notify import open_notifications

    if json_path is not None:
        from core.settings import load_settings

        _check_writable(json_path, load_settings(data_dir=request.data_dir).data_dir)
    prepared = prepare_resume(resume, request.data_dir) if resume else prepare_run(request)
    try:
        with open_notifications(prepared.plan.settings.notify, os.environ) as notifier:
            summary = replay_with_progress(
                prepared,
                quiet=quiet,
                process_start=process_start,
                stop_on_interrupt=True,
                notifier=notifier,
            )
    except AnalystUnreachableError as stopped:  # summarize the cycles that ran, then the error
        show_summary(stopped.summary, json_path)
        raise
    show_summary(summary, json_path)
    if summary.partial and prepared.plan.live:
        console.print(
            f"[bold yellow]stopped by {summary.stopped_by or 'an interrupt'}[/] after "
            f"{summary.decisions:,} decisions; open orders were cancelled, stops stay on the "
            "exchange. Start again on the same account: it reconciles first."
        )
        raise SystemExit(143 if summary.stopped_by == "SIGTERM" else 130)
    if summary.partial:
        console.print(
            f"[bold yellow]stopped by {summary.stopped_by or 'an interrupt'}[/] after "
            f"{summary.decisions:,} decisions: carry on with `tradegraph run --resume "
            f"{summary.run_id}`" + (f" --data-dir {request.data_dir}" if request.data_dir else "")
        )
        raise SystemExit(143 if summary.stopped_by == "SIGTERM" else 130)


def show_summary(summary: RunSummary, json_path: Path | None) -> None:
    """The summary table, where the traces are, and the JSON summary if asked for."""
    console.print(summary_table(summary))
    if notice := halt_notice(summary):
        console.print(shown(notice, one_line=True), markup=False, soft_wrap=True)
    console.print(
        f"Traces: {summary.traces:,} hash-chained traces in {_safe(summary.trace_store.path)} "
        f"(collection '{_safe(summary.trace_store.collection)}', run {summary.run_id}, "
        f"chain head {summary.trace_store.chain_head})",
        highlight=False,
    )
    if json_path is not None:
        write_atomically(json_path, summary.model_dump_json(indent=2) + "\n", "--json")
        console.print(f"Summary JSON: {json_path}")


def _check_writable(path: Path, data_dir: Path) -> None:
    check_output_file(path, data_dir, flag="--json", what="the summary", example="out.json")


def check_output_file(path: Path, data_dir: Path, *, flag: str, what: str, example: str) -> None:
    """Refuse an output path (`flag`) that cannot be written before the run, not after it, and
    one that would overwrite a store of the data directory (its ledger, risk state, halt log...)."""
    from core.datadir import is_own_file

    folder = path.parent.resolve()
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder: give a file name, e.g. {path}/{example}")
    if is_own_file(data_dir, path):
        raise UserError(
            f"{flag} {path} would overwrite the data directory's own files: write {what} elsewhere"
        )
    if not folder.is_dir():
        raise UserError(f"cannot write {flag} {path}: folder {path.parent} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {flag} {path}: folder {path.parent} is not writable")


def summary_table(summary: RunSummary) -> Table:
    s = summary
    table = Table(title=f"Run {s.run_id}", show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("")
    synthetic = " (synthetic)" if s.market.synthetic else ""
    table.add_row(
        "Market",
        _safe(f"{s.market.symbol} {s.market.timeframe}{synthetic}  {s.market.source}"),
    )
    table.add_row(
        "Account",
        _safe(s.account)
        + (
            f"  (resumed after {s.resumed_from:,} sealed cycles)"
            if s.resumed_from is not None
            else ""
        ),
    )
    table.add_row("Window", f"{s.market.first} → {s.market.last}  ({s.bars:,} candles)")
    table.add_row("Decisions", f"{s.decisions:,}  ({s.perf.decisions_per_second:,.0f}/s)")
    table.add_row("Orders / fills", f"{s.orders:,} / {s.fills:,}")
    denied = ", ".join(f"{_safe(code)} {n}" for code, n in s.denials.items()) or "none"
    table.add_row("Denials", denied)
    table.add_row("Equity", f"{s.equity_start:,.2f} → {s.equity_final:,.2f}")
    colour = "green" if s.total_return >= 0 else "red"
    table.add_row(
        "Return",
        f"[{colour}]{s.total_return:+.2%}[/]  (buy and hold {s.buy_and_hold_return:+.2%}"
        + (", equal weight)" if len(s.symbols) > 1 else ")"),
    )
    if len(s.symbols) > 1:
        table.add_row("Per symbol", "\n".join(
            f"{_safe(m.symbol)}: {m.orders} orders, realized {m.realized_pnl:+,.2f}, "
            f"buy and hold {m.buy_and_hold_return:+.2%}" for m in s.symbols
        ))  # fmt: skip
    table.add_row("Max drawdown", f"{s.max_drawdown:.2%}")
    table.add_row("Fees paid", f"{s.fees_paid:,.2f}")
    table.add_row("Trading state", _safe(s.trading_state))
    if s.llm.requests:
        u = s.llm
        table.add_row(
            "LLM",
            f"{u.requests:,} requests · tokens in {u.input_tokens:,}, out {u.output_tokens:,}, "
            f"cache read {u.cache_read_tokens:,}, cache write {u.cache_creation_tokens:,} · "
            f"${u.cost_usd:,.4f}",
        )
    if s.errors.count:
        table.add_row("Analyst errors", _error_lines(s))
    checked = "[green]0[/]" if s.risk.violations == 0 else f"[bold red]{s.risk.violations}[/]"
    table.add_row("Limit violations", f"{checked} (executed orders re-checked independently)")
    table.add_row("Breaker trips", _trip_lines(s) or "none")
    return table


def _error_lines(summary: RunSummary) -> str:
    """How many cycles failed, by kind, and the last failure (a model's text shown as data)."""
    errors = summary.errors
    kinds = ", ".join(f"{_safe(kind)} {n}" for kind, n in errors.by_kind.items())
    line = f"[bold red]{errors.count:,}[/] ({kinds})"
    if errors.last is not None:
        line += f"\nlast {errors.last.ts[:16]}: {_safe(errors.last.message)}"
    return line


def _trip_lines(summary: RunSummary) -> str:
    """One line per breaker and stage, in the order they first tripped, with how often (the
    first trip's reason shown as data: it may quote an analyst's words)."""
    first: dict[tuple[str, str], str] = {}
    counts: Counter[tuple[str, str]] = Counter()
    for trip in summary.risk.breaker_trips:
        key = (trip.breaker, trip.stage)
        counts[key] += 1
        line = f"{trip.ts[:16]} {_safe(trip.breaker)} ({trip.stage}): {_safe(trip.reason)}"
        first.setdefault(key, line)
    return "\n".join(
        first[key] + (f"  (x{counts[key]})" if counts[key] > 1 else "") for key in first
    )


def _safe(text: str) -> str:
    """Text from a model or a file (a thesis, a reason, a market's name), shown as data: on
    one line, without control characters, its brackets never read as Rich markup."""
    return escape(shown(text, one_line=True))
