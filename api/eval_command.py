"""`tradegraph eval`: replay a market through the decision graph and write a report.

The replay is the same session `tradegraph run` drives (simulated clock, paper broker, the
validator, breakers, memory); the report adds the metrics, the baselines filled the same way,
the determinism root and, with `--check-lookahead`, proof that no decision used the future.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from api.run_command import (
    RunRequest,
    console,
    new_run_id,
    prepare_run,
    replay_with_progress,
    write_atomically,
)
from core.errors import UserError

if TYPE_CHECKING:
    from evals.report import CycleRecorder, EvalResult

LOOKAHEAD_CUTS = 3
MIN_LOOKAHEAD_BARS = 8


def evaluate(
    request: RunRequest,
    folder: Path,
    *,
    quiet: bool,
    process_start: float,
    announce: bool = True,
) -> tuple[EvalResult, CycleRecorder]:
    """One replay, evaluated: report.json and report.html written into `folder`."""
    from core.types import timeframe_seconds
    from evals.report import CycleRecorder, build_report, report_json
    from evals.report_html import render_html

    prepared = prepare_run(replace(request, data_dir=request.data_dir or folder))
    recorder = CycleRecorder()
    summary = replay_with_progress(
        prepared,
        quiet=quiet,
        process_start=process_start,
        verb="evaluation",
        on_cycle=recorder,
        stop_on_interrupt=True,
        announce=announce,
    )
    if not recorder.traces:
        raise UserError("the replay was stopped before its first decision: no report written")
    analyst = prepared.analyst
    result = build_report(
        summary,
        recorder,
        prepared.plan.series,
        prepared.settings,
        period_seconds=timeframe_seconds(prepared.plan.info.timeframe),
        model=getattr(analyst, "model", None),
        prompt_version=getattr(analyst, "prompt_version", None),
        partial=summary.partial,
    )
    write_atomically(folder / "report.json", report_json(result.report), "report")
    write_atomically(folder / "report.html", render_html(result), "report")
    return result, recorder


def execute_eval(
    request: RunRequest,
    *,
    out: Path | None,
    check_lookahead: bool,
    quiet: bool,
    process_start: float,
) -> None:
    run_id = request.run_id or new_run_id()
    folder = output_folder(out or Path("eval") / run_id)
    request = replace(request, run_id=run_id, data_dir=request.data_dir or folder)
    if check_lookahead and request.bars is not None and request.bars < MIN_LOOKAHEAD_BARS:
        raise UserError(
            f"--check-lookahead needs at least {MIN_LOOKAHEAD_BARS} candles to cut: raise --bars"
        )
    result, recorder = evaluate(request, folder, quiet=quiet, process_start=process_start)
    _print_summary(result.report, folder)
    if result.report.partial:
        console.print("[bold yellow]interrupted[/]: the report covers the cycles that ran")
        sys.exit(130)
    if check_lookahead and not _lookahead_holds(request, recorder, quiet, process_start):
        sys.exit(1)


def output_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --out {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise UserError(f"--out {folder} is not writable: give another folder")
    return folder.resolve()


def _print_summary(report: object, folder: Path) -> None:
    from evals.report import EvalReport

    assert isinstance(report, EvalReport)
    m, hold = report.metrics, report.baselines["buy_and_hold"]
    console.print(
        f"agent {m.total_return:+.2%} (max DD {m.max_drawdown:.2%}, Sharpe {m.sharpe:.2f}, "
        f"{m.trades} trades) · buy & hold {hold.total_return:+.2%} (max DD "
        f"{hold.max_drawdown:.2%}) · violations {report.risk.violations}"
    )
    console.print(f"trace root {report.determinism.trace_root_hash}")
    console.print(f"Report: {folder / 'report.json'} and {folder / 'report.html'}")


def _lookahead_holds(
    request: RunRequest, recorder: object, quiet: bool, process_start: float
) -> bool:
    """Replay again with the future cut off at random points (in the same store, which now
    holds everything the full replay learned); every decision before a cut must be the
    same as in the full replay."""
    from evals.report import CycleRecorder, decision_digest

    assert isinstance(recorder, CycleRecorder)
    full = [decision_digest(t) for t in recorder.traces]
    bars = len(full)
    if bars < MIN_LOOKAHEAD_BARS:
        raise UserError(
            f"--check-lookahead needs at least {MIN_LOOKAHEAD_BARS} candles to cut, the window "
            f"has {bars}: widen it"
        )
    rng = random.Random(bars)
    cuts = sorted(rng.sample(range(max(2, bars // 4), bars), min(LOOKAHEAD_CUTS, bars // 2)))
    held = True
    for number, cut in enumerate(cuts, 1):
        cut_request = replace(request, run_id=f"{request.run_id}-cut{number}", bars=None)
        prepared = prepare_run(cut_request)
        plan = replace(prepared.plan, series=prepared.plan.series.window(0, cut))
        prepared = replace(prepared, plan=plan)
        again = CycleRecorder()
        replay_with_progress(
            prepared, quiet=True, process_start=process_start, verb="look-ahead check",
            on_cycle=again,
        )  # fmt: skip
        seen = [decision_digest(t) for t in again.traces]
        first = next((i for i, (a, b) in enumerate(zip(seen, full, strict=False)) if a != b), None)
        if first is None:
            console.print(f"look-ahead check: future cut after candle {cut:,}: identical")
        else:
            held = False
            console.print(
                f"[bold red]look-ahead check failed[/]: with the future cut after candle "
                f"{cut:,}, decision {first:,} changed"
            )
    return held
