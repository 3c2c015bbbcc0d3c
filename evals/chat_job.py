"""An evaluation the chat started (`graphs.chat.eval_jobs`), run in a process of its own:
`python -m evals.chat_job FOLDER` runs what `FOLDER/job.json` asks, the replay `tradegraph
eval` makes, into that folder, keeping the record up to date (the cycles done about once a
second, then the report's figures, or one line saying why it failed)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from core.errors import UserError
from evals.harness import evaluate
from evals.report import EvalReport
from graphs.assembly import PreparedRun, RunRequest, run_prepared
from graphs.chat.eval_jobs import (
    JOB_FILE,
    PROGRESS_EVERY_S,
    EvalSummary,
    JobRecord,
    JobState,
    line,
    save,
)
from graphs.node import CycleObserver
from graphs.summary import RunSummary


def run_job(folder: Path) -> JobRecord:
    """Run the evaluation `folder/job.json` asks for; the final record (finished, or failed
    with one line). An unexpected failure is recorded, then raised (its traceback goes to
    the job's log)."""
    record = JobRecord.model_validate_json((folder / JOB_FILE).read_bytes())
    progress = _Progress(folder, record.model_copy(update={"pid": os.getpid()}))
    progress.save()
    try:
        result, _ = evaluate(RunRequest.from_record(record.request), folder, run=progress.runner)
    except (UserError, ValueError) as error:
        return progress.end("failed", error=line(str(error)))
    except Exception as error:
        progress.end("failed", error=line(f"{type(error).__name__}: {error}"))
        raise
    return progress.end("finished", summary=summarize(result.report, folder))


class _Progress:
    """Counts the cycles as they are decided and rewrites job.json about once a second."""

    def __init__(self, folder: Path, record: JobRecord) -> None:
        self.folder, self.record = folder, record
        self.done = 0
        self.saved_at = time.monotonic()

    def runner(self, prepared: PreparedRun, on_cycle: CycleObserver) -> RunSummary:
        def counted(trace: Any, held: float) -> None:
            on_cycle(trace, held)
            self.done += 1
            if time.monotonic() - self.saved_at >= PROGRESS_EVERY_S:
                self.save(done=self.done)

        return run_prepared(prepared, on_cycle=counted, stop_on_interrupt=True)

    def save(self, **update: Any) -> None:
        self.record = self.record.model_copy(update={**update, "updated_ms": _now_ms()})
        save(self.folder, self.record)
        self.saved_at = time.monotonic()

    def end(self, state: JobState, **update: Any) -> JobRecord:
        self.save(state=state, done=self.done, finished_ms=_now_ms(), **update)
        return self.record


def summarize(report: EvalReport, folder: Path) -> EvalSummary:
    """The report in brief, for the chat (the whole one stays in report.json and .html)."""
    held = report.baselines.get("buy_and_hold")
    denials = dict(sorted(report.risk.denials.items(), key=lambda kv: -kv[1])[:10])
    return EvalSummary(
        market=report.market.model_dump(mode="json"),
        analyst=report.agent.analyst,
        partial=report.partial,
        metrics=report.metrics.model_dump(mode="json"),
        buy_and_hold=held.model_dump(mode="json") if held is not None else {},
        trades=report.metrics.trades,
        denials=denials,
        breaker_trips=report.risk.breaker_trips,
        violations=report.risk.violations,
        final_state=report.risk.final_state,
        warnings=[line(w) for w in report.warnings[:5]],
        report_json=str(folder / "report.json"),
        report_html=str(folder / "report.html"),
    )


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


if __name__ == "__main__":
    run_job(Path(sys.argv[1]))
