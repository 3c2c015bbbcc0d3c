"""The evaluation harness: one replay through the trading node, evaluated into a report, and
the look-ahead check that replays again with the future cut off.

The replay is the same session `tradegraph run` drives (simulated clock, paper broker, the
validator, breakers, memory); the report adds the metrics, the baselines filled the same way,
the determinism root. Drivers (the CLI, suite workers) pass a runner that shows progress or not.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from core.datadir import write_atomically
from core.errors import UserError
from evals.report import CycleRecorder, EvalResult, build_report, decision_digest, report_json
from graphs.assembly import PreparedRun, RunRequest, prepare_run, run_prepared
from graphs.node import CycleObserver
from graphs.summary import RunSummary

LOOKAHEAD_CUTS = 3
MIN_LOOKAHEAD_BARS = 8

Runner = Callable[[PreparedRun, CycleObserver], RunSummary]
"""Runs a prepared session with an observer of every cycle (and, in a terminal, a progress bar)."""


def quiet_runner(prepared: PreparedRun, on_cycle: CycleObserver) -> RunSummary:
    return run_prepared(prepared, on_cycle=on_cycle, stop_on_interrupt=True)


def evaluate(
    request: RunRequest, folder: Path, *, run: Runner = quiet_runner
) -> tuple[EvalResult, CycleRecorder]:
    """One replay, evaluated: report.json, report.html and trades.csv written into `folder`."""
    from core.types import timeframe_seconds

    prepared = prepare_run(replace(request, data_dir=request.data_dir or folder))
    recorder = CycleRecorder()
    summary = run(prepared, recorder)
    if not recorder.traces:
        raise UserError("the replay was stopped before its first decision: no report written")
    analyst = prepared.analyst
    result = build_report(
        summary,
        recorder,
        prepared.plan.markets,
        prepared.settings,
        period_seconds=timeframe_seconds(prepared.plan.info.timeframe),
        model=getattr(analyst, "model", None),
        prompt_version=getattr(analyst, "prompt_version", None),
        partial=summary.partial,
    )
    write_report(result, folder)
    return result, recorder


REPORT_FILES = ("report.json", "report.html", "trades.csv")
"""What `write_report` writes: the files a report folder holds beside the data stores."""


def write_report(result: EvalResult, folder: Path) -> None:
    """report.json, report.html and trades.csv; a suite worker calls it again once the
    market's source names the recording the driver read (not the worker's copy of it)."""
    from evals.report_html import render_html
    from evals.trade_list import trades_csv

    write_atomically(folder / "report.json", report_json(result.report), "report")
    write_atomically(folder / "report.html", render_html(result), "report")
    write_atomically(folder / "trades.csv", trades_csv(result.report.trades), "trade list")


@dataclass(frozen=True)
class LookaheadCut:
    cut: int
    """Candles replayed before the future was cut off."""
    first_changed: int | None
    """The first decision that differs from the full replay; None: all identical."""


def lookahead_cuts(decisions: int) -> list[int]:
    """Where to cut (seeded by the window, so a check is repeatable)."""
    if decisions < MIN_LOOKAHEAD_BARS:
        raise UserError(
            f"--check-lookahead needs at least {MIN_LOOKAHEAD_BARS} candles to cut, the window "
            f"has {decisions}: widen it"
        )
    rng = random.Random(decisions)
    return sorted(
        rng.sample(range(max(2, decisions // 4), decisions), min(LOOKAHEAD_CUTS, decisions // 2))
    )


def check_lookahead(
    request: RunRequest, recorder: CycleRecorder, *, run: Runner = quiet_runner
) -> list[LookaheadCut]:
    """Replay again with the future cut off at random points (in the same store, which now
    holds everything the full replay learned); every decision before a cut must be the
    same as in the full replay."""
    from graphs.assembly import parse_symbols

    full = [decision_digest(t) for t in recorder.traces]
    markets = len(parse_symbols(request.symbol))
    results = []
    for number, cut in enumerate(lookahead_cuts(len(full) // markets), 1):
        cut_request = replace(request, run_id=f"{request.run_id}-cut{number}", bars=None)
        prepared = prepare_run(cut_request)
        plan = prepared.plan
        plan = replace(
            plan,
            series=plan.series.window(0, cut),
            more_markets=tuple((i, s.window(0, cut)) for i, s in plan.more_markets),
        )
        again = CycleRecorder()
        run(replace(prepared, plan=plan), again)
        seen = [decision_digest(t) for t in again.traces]
        first = next((i for i, (a, b) in enumerate(zip(seen, full, strict=False)) if a != b), None)
        results.append(LookaheadCut(cut, first))
    return results
