"""`tradegraph eval --suite FILE.toml`: every market times every configuration, in parallel.

Jobs run on local processes (`--workers`, default the suite's `workers`, else 2), each an
ordinary evaluation into `OUT/<market>/<config>/`; the combined `suite.json` and `suite.html`
hold a table per market and an aggregate per configuration. Ctrl-C cancels the jobs not yet
started, waits for the running ones, and writes the combined report marked partial.

With `--ray HOST:PORT` (or `local`) the jobs are Ray tasks instead (`evals.ray_runner`): the
same reports, written here by the driver as the tasks finish; Ctrl-C cancels the unfinished.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.markup import escape as markup_escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from api.run_command import console
from core.datadir import output_folder, write_atomically
from core.text import shown
from evals.paired import in_words
from evals.suite import Suite, aggregate, load_suite
from evals.suite_compare import ConfigComparison, compare_configs
from evals.suite_html import render_suite_html
from evals.suite_runner import run_suite


def execute_suite(
    path: Path,
    *,
    out: Path | None,
    workers: int | None,
    quiet: bool,
    ray: str | None = None,
) -> None:
    suite = load_suite(path)
    if ray is None:
        count = workers or suite.workers

        def local(suite: Suite, folder: Path, done: Callable[[], None]) -> Outcome:
            return run_suite(suite, folder, count, done)

        _execute(suite, path, out, local, f"on {count} processes", quiet)
        return
    from evals.ray_runner import ray_cluster

    with ray_cluster(ray) as cluster:  # a cluster that cannot be used is one line, first
        _execute(suite, path, out, cluster.run, f"on {cluster.where}", quiet)


Outcome = tuple[list[dict[str, Any]], bool]
"""The rows, and whether Ctrl-C cut the suite short."""
Runner = Callable[[Suite, Path, Callable[[], None]], Outcome]
"""Runs every job of a suite into a folder, calling back as each finishes: rows, partial."""


def _execute(
    suite: Suite, path: Path, out: Path | None, run: Runner, where: str, quiet: bool
) -> None:
    folder = output_folder(out or Path("eval") / f"suite-{path.stem}")
    console.print(
        f"[bold]tradegraph[/] suite [cyan]{_line(suite.name)}[/] · {len(suite.jobs)} jobs "
        f"{where} · {folder}"
    )
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=console, disable=quiet,
    )  # fmt: skip
    with progress:
        task = progress.add_task("evaluating", total=len(suite.jobs))
        rows, stopped = run(suite, folder, lambda: progress.advance(task))
    started_ms = int(time.time() * 1000)
    comparisons = _compare(suite, rows, quiet)
    combined: dict[str, Any] = {
        "suite": suite.name,
        "generated": datetime.fromtimestamp(started_ms / 1000, tz=UTC).isoformat(),
        "partial": stopped,
        "jobs": len(suite.jobs),
        "rows": sorted((_without_series(r) for r in rows), key=lambda r: r["label"]),
        "aggregate": aggregate(rows),
        "comparisons": [c.model_dump(mode="json") for c in comparisons],
    }
    write_atomically(folder / "suite.json", json.dumps(combined, indent=2) + "\n", "suite report")
    write_atomically(folder / "suite.html", render_suite_html(combined), "suite report")
    failed = [r for r in rows if "error" in r]
    for row in failed:
        console.print(f"[red]failed[/] {_line(row['label'])}: {_line(row['error'])}")
    for config, agg in combined["aggregate"].items():
        console.print(
            f"{_line(config)}: mean return {agg['mean_total_return']:+.2%} vs buy & hold "
            f"{agg['mean_buy_and_hold_return']:+.2%}, beat it on {agg['beat_buy_and_hold']} of "
            f"{agg['markets']}, violations {agg['violations']}"
        )
    for comparison in comparisons:
        _print_comparison(comparison)
    console.print(f"Suite report: {folder / 'suite.json'} and {folder / 'suite.html'}")
    if stopped:
        console.print("[bold yellow]interrupted[/]: the suite report covers the finished jobs")
        sys.exit(130)
    if failed:
        sys.exit(1)


def _compare(suite: Suite, rows: list[dict[str, Any]], quiet: bool) -> list[ConfigComparison]:
    if suite.control is None:
        return []
    with (
        console.status("comparing configurations (bootstrap)", spinner="dots")
        if not quiet
        else (contextlib.nullcontext())
    ):
        return compare_configs(rows, suite.configs, suite.control)


def _print_comparison(comparison: ConfigComparison) -> None:
    """The pooled comparison in words: what a reader of the suite wants first."""
    head = f"{_line(comparison.candidate)} against {_line(comparison.control)}"
    if comparison.pooled is None:
        console.print(f"{head}: no market where both finished, nothing to compare")
        return
    markets = len(comparison.markets)
    console.print(f"{head}, pooled over {markets} market{'s' if markets != 1 else ''}:")
    for line in in_words(comparison.pooled):
        console.print(f"  {markup_escape(line)}")
    for note in comparison.pooled.notes:
        console.print(f"  [yellow]note[/] {markup_escape(note)}")
    for reason in comparison.skipped:
        console.print(f"  [yellow]left out[/] {_line(reason)}")


def _without_series(row: dict[str, Any]) -> dict[str, Any]:
    """suite.json keeps each job's figures; the per-candle series stay in the job's report."""
    if "report" not in row:
        return row
    return {**row, "report": {k: v for k, v in row["report"].items() if k != "series"}}


def _line(text: str) -> str:
    """A suite's name, a configuration or an error, shown as data on one line."""
    return markup_escape(shown(text, one_line=True))
