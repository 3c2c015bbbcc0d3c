"""`tradegraph eval --suite FILE.toml`: every market times every configuration, in parallel.

Jobs run on local processes (`--workers`, default the suite's `workers`, else 2), each an
ordinary evaluation into `OUT/<market>/<config>/`; the combined `suite.json` and `suite.html`
hold a table per market and an aggregate per configuration. Ctrl-C cancels the jobs not yet
started, waits for the running ones, and writes the combined report marked partial.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from rich.markup import escape as markup_escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from api.dates import parse_date
from api.run_command import RunRequest, console, write_atomically
from core.errors import UserError
from evals.suite import Suite, SuiteJob, aggregate, load_suite


def run_job(job: SuiteJob, folder: str) -> dict[str, Any]:
    """One job in a worker process: its report as a dict, or the one-line error it hit."""
    from api.eval_command import evaluate, output_folder

    options = job.options
    memory = options.get("memory")
    try:
        request = RunRequest(
            market=str(options["market"]),
            symbol=options.get("symbol"),
            timeframe=options.get("timeframe"),
            bars=options.get("bars"),
            start=parse_date(options.get("from"), "from"),
            end=parse_date(options.get("to"), "to", end_of_day=True),
            analyst=options.get("analyst"),
            memory=None if memory is None else str(memory) == "on",
            overrides=job.overrides,
        )
        result, _ = evaluate(
            request, output_folder(Path(folder)), quiet=True, process_start=time.perf_counter(),
            announce=False,
        )  # fmt: skip
    except UserError as exc:
        return _failed(job, str(exc))
    except Exception as exc:  # a bug in one job must not take the suite down: report it
        return _failed(job, f"{exc.__class__.__name__}: {exc}")
    return {
        "label": job.label,
        "market": job.market_label,
        "config": job.config,
        "folder": folder,
        "report": result.report.model_dump(mode="json"),
    }


def _failed(job: SuiteJob, error: str) -> dict[str, Any]:
    return {"label": job.label, "market": job.market_label, "config": job.config, "error": error}


def execute_suite(path: Path, *, out: Path | None, workers: int | None, quiet: bool) -> None:
    from api.eval_command import output_folder

    suite = load_suite(path)
    folder = output_folder(out or Path("eval") / f"suite-{path.stem}")
    count = workers or suite.workers
    console.print(
        f"[bold]tradegraph[/] suite [cyan]{markup_escape(suite.name)}[/] · {len(suite.jobs)} jobs "
        f"on {count} processes · {folder}"
    )
    rows, partial = _run_all(suite, folder, count, quiet)
    started_ms = int(time.time() * 1000)
    combined: dict[str, Any] = {
        "suite": suite.name,
        "generated": datetime.fromtimestamp(started_ms / 1000, tz=UTC).isoformat(),
        "partial": partial,
        "jobs": len(suite.jobs),
        "rows": sorted(rows, key=lambda r: r["label"]),
        "aggregate": aggregate(rows),
    }
    write_atomically(folder / "suite.json", json.dumps(combined, indent=2) + "\n", "suite report")
    write_atomically(folder / "suite.html", render_suite_html(combined), "suite report")
    failed = [r for r in rows if "error" in r]
    for row in failed:
        console.print(f"[red]failed[/] {row['label']}: {markup_escape(row['error'])}")
    for config, agg in combined["aggregate"].items():
        console.print(
            f"{config}: mean return {agg['mean_total_return']:+.2%} vs buy & hold "
            f"{agg['mean_buy_and_hold_return']:+.2%}, beat it on {agg['beat_buy_and_hold']} of "
            f"{agg['markets']}, violations {agg['violations']}"
        )
    console.print(f"Suite report: {folder / 'suite.json'} and {folder / 'suite.html'}")
    if partial:
        console.print("[bold yellow]interrupted[/]: the suite report covers the finished jobs")
        sys.exit(130)
    if failed:
        sys.exit(1)


def _run_all(
    suite: Suite, folder: Path, workers: int, quiet: bool
) -> tuple[list[dict[str, Any]], bool]:
    rows: list[dict[str, Any]] = []
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=console, disable=quiet,
    )  # fmt: skip
    pool = ProcessPoolExecutor(max_workers=workers)
    futures: dict[Future[dict[str, Any]], SuiteJob] = {
        pool.submit(run_job, job, str(folder / job.label)): job for job in suite.jobs
    }
    partial = False
    try:
        with progress:
            task = progress.add_task("evaluating", total=len(futures))
            for _ in as_completed(futures):
                progress.advance(task)
    except KeyboardInterrupt:
        partial = True
        for future in futures:
            future.cancel()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for future, job in futures.items():  # after the shutdown: every job that finished counts
        if future.cancelled() or not future.done():
            continue
        try:
            rows.append(future.result())
        except BaseException as exc:
            rows.append(_failed(job, f"{exc.__class__.__name__}: {exc}"))
    return rows, partial


def render_suite_html(combined: dict[str, Any]) -> str:
    def pct(x: float) -> str:
        return f"{x:+.2%}"

    markets: dict[str, list[dict[str, Any]]] = {}
    for row in combined["rows"]:
        markets.setdefault(row["market"], []).append(row)
    sections = []
    for market, rows in markets.items():
        lines = []
        for r in rows:
            if "error" in r:
                lines.append(f"<tr><td>{escape(r['config'])}</td><td colspan=6>failed: "
                             f"{escape(r['error'])}</td></tr>")  # fmt: skip
                continue
            m, hold = r["report"]["metrics"], r["report"]["baselines"]["buy_and_hold"]
            link = escape(f"{r['label']}/report.html")
            lines.append(
                f'<tr><td><a href="{link}">{escape(r["config"])}</a></td>'
                f"<td>{pct(m['total_return'])}</td><td>{m['max_drawdown']:.2%}</td>"
                f"<td>{m['sharpe']:.2f}</td><td>{m['trades']}</td>"
                f"<td>{pct(hold['total_return'])}</td><td>{r['report']['risk']['violations']}</td></tr>"
            )
        sections.append(
            f"<h2>{escape(market)}</h2><table><tr><th>config</th><th>return</th><th>max DD</th>"
            f"<th>Sharpe</th><th>trades</th><th>buy &amp; hold</th><th>violations</th></tr>"
            + "".join(lines)
            + "</table>"
        )
    agg_rows = "".join(
        f"<tr><td>{escape(c)}</td><td>{a['markets']}</td><td>{pct(a['mean_total_return'])}</td>"
        f"<td>{a['mean_max_drawdown']:.2%}</td><td>{a['mean_sharpe']:.2f}</td>"
        f"<td>{pct(a['mean_buy_and_hold_return'])}</td><td>{a['beat_buy_and_hold']}</td>"
        f"<td>{a['violations']}</td></tr>"
        for c, a in combined["aggregate"].items()
    )
    partial = "<p><b>Partial: the suite was interrupted.</b></p>" if combined["partial"] else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>tradegraph suite · {escape(combined["suite"])}</title>
<style>body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #ddd;
padding: .25rem .8rem; text-align: right; }} td:first-child, th:first-child {{ text-align: left; }}
</style></head><body><h1>Suite {escape(combined["suite"])}</h1>{partial}
<h2>Aggregate</h2><table><tr><th>config</th><th>markets</th><th>mean return</th>
<th>mean max DD</th><th>mean Sharpe</th><th>mean buy &amp; hold</th><th>beat buy &amp; hold</th>
<th>violations</th></tr>{agg_rows}</table>
{"".join(sections)}
</body></html>
"""
