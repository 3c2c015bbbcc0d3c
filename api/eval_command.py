"""`tradegraph eval`: show an evaluation from the command line (the harness is `evals.harness`)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from api.run_command import RunRequest, console, new_run_id, replay_with_progress
from core.datadir import output_folder
from core.errors import UserError

if TYPE_CHECKING:
    from evals.harness import Runner
    from evals.report import EvalReport


def execute_eval(
    request: RunRequest,
    *,
    out: Path | None,
    check_lookahead: bool,
    quiet: bool,
    process_start: float,
) -> None:
    from core.datadir import removed_if_left_empty

    run_id = request.run_id or new_run_id()
    wanted = out or Path("eval") / run_id
    with removed_if_left_empty(wanted):
        _evaluate(request, run_id, output_folder(wanted), check_lookahead, quiet, process_start)


def _evaluate(
    request: RunRequest,
    run_id: str,
    folder: Path,
    check_lookahead: bool,
    quiet: bool,
    process_start: float,
) -> None:
    from evals.harness import MIN_LOOKAHEAD_BARS, evaluate
    from evals.harness import check_lookahead as lookahead

    request = replace(request, run_id=run_id, data_dir=request.data_dir or folder)
    if check_lookahead and request.bars is not None and request.bars < MIN_LOOKAHEAD_BARS:
        raise UserError(
            f"--check-lookahead needs at least {MIN_LOOKAHEAD_BARS} candles to cut: raise --bars"
        )
    result, recorder = evaluate(
        request, folder, run=_with_progress(quiet, process_start, "evaluation")
    )
    _print_summary(result.report, folder)
    if result.report.partial:
        console.print("[bold yellow]interrupted[/]: the report covers the cycles that ran")
        sys.exit(130)
    if not check_lookahead:
        return
    held = True
    for cut in lookahead(request, recorder, run=_with_progress(True, process_start, "")):
        if cut.first_changed is None:
            console.print(f"look-ahead check: future cut after candle {cut.cut:,}: identical")
        else:
            held = False
            console.print(
                f"[bold red]look-ahead check failed[/]: with the future cut after candle "
                f"{cut.cut:,}, decision {cut.first_changed:,} changed"
            )
    if not held:
        sys.exit(1)


def _with_progress(quiet: bool, process_start: float, verb: str) -> Runner:
    def run(prepared, on_cycle):  # type: ignore[no-untyped-def]
        return replay_with_progress(
            prepared,
            quiet=quiet,
            process_start=process_start,
            verb=verb or "look-ahead check",
            on_cycle=on_cycle,
            stop_on_interrupt=True,
            announce=bool(verb),
        )

    return run


def _print_summary(report: EvalReport, folder: Path) -> None:
    m, hold = report.metrics, report.baselines["buy_and_hold"]
    console.print(
        f"agent {m.total_return:+.2%} (max DD {m.max_drawdown:.2%}, Sharpe {m.sharpe:.2f}, "
        f"{m.trades} trades) · buy & hold {hold.total_return:+.2%} (max DD "
        f"{hold.max_drawdown:.2%}) · violations {report.risk.violations}"
    )
    console.print(f"trace root {report.determinism.trace_root_hash}")
    console.print(f"Report: {folder / 'report.json'} and {folder / 'report.html'}")
