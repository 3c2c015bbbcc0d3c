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
    trades_csv: Path | None = None,
) -> None:
    from core.datadir import removed_if_left_empty

    run_id = request.run_id or new_run_id()
    wanted = out or Path("eval") / run_id
    with removed_if_left_empty(wanted):
        folder = output_folder(wanted)
        if trades_csv is not None:
            _check_trades_csv(trades_csv, folder, request.data_dir or folder)
        _evaluate(request, run_id, folder, check_lookahead, quiet, process_start, trades_csv)


def _check_trades_csv(path: Path, folder: Path, data_dir: Path) -> None:
    """Before the replay: a --trades-csv path that can be written and overwrites nothing of
    the data directory's or the report's own."""
    from api.run_command import check_output_file

    check_output_file(
        path, data_dir, flag="--trades-csv", what="the trade list", example="trades.csv"
    )
    if path.resolve() in (folder / "report.json", folder / "report.html"):
        raise UserError(f"--trades-csv {path} would overwrite the report: name another file")


def _evaluate(
    request: RunRequest,
    run_id: str,
    folder: Path,
    check_lookahead: bool,
    quiet: bool,
    process_start: float,
    trades_csv: Path | None,
) -> None:
    from core.datadir import write_atomically
    from evals.harness import MIN_LOOKAHEAD_BARS, evaluate
    from evals.harness import check_lookahead as lookahead
    from evals.trade_list import trades_csv as csv_text

    request = replace(request, run_id=run_id, data_dir=request.data_dir or folder)
    if check_lookahead and request.bars is not None and request.bars < MIN_LOOKAHEAD_BARS:
        raise UserError(
            f"--check-lookahead needs at least {MIN_LOOKAHEAD_BARS} candles to cut: raise --bars"
        )
    result, recorder = evaluate(
        request, folder, run=_with_progress(quiet, process_start, "evaluation")
    )
    if trades_csv is not None:
        write_atomically(trades_csv, csv_text(result.report.trades), "--trades-csv")
    _print_summary(result.report, folder, trades_csv)
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


def _print_summary(report: EvalReport, folder: Path, trades_csv: Path | None) -> None:
    from rich.markup import escape

    m, hold = report.metrics, report.baselines["buy_and_hold"]
    sharpe = "n/a" if m.sharpe is None else f"{m.sharpe:.2f}"
    console.print(
        f"agent {m.total_return:+.2%} (max DD {m.max_drawdown:.2%}, Sharpe {sharpe}, "
        f"{m.trades} trades) · buy & hold {hold.total_return:+.2%} (max DD "
        f"{hold.max_drawdown:.2%}) · violations {report.risk.violations}"
    )
    if (s := report.trade_stats) is not None:
        factor = "n/a" if s.profit_factor is None else f"{s.profit_factor:.2f}"
        console.print(
            f"trades: win rate {s.win_rate:.1%}, profit factor {factor}, expectancy "
            f"{s.expectancy:+,.2f} per trade, longest losing streak {s.longest_losing_streak}, "
            f"fee drag {s.fee_drag:.2%}, {s.open_positions} open at the end"
        )
    for warning in report.warnings:
        console.print(f"[bold yellow]warning[/]: {escape(warning)}")
    for note in report.notes:
        console.print(f"note: {escape(note)}")
    console.print(f"trace root {report.determinism.trace_root_hash}")
    console.print(f"Report: {folder / 'report.json'} and {folder / 'report.html'}")
    console.print(f"Trades: {trades_csv or folder / 'trades.csv'}")
