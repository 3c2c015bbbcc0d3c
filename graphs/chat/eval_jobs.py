"""Evaluations the chat starts: a short one answered at once, a long one as a background job.

Each evaluation is `evals.harness.evaluate` (the replay `tradegraph eval` runs) into a folder
of its own under the data directory, `chat_evals/JOB_ID/`, which is also its data directory
(its own writer lock, ledger and traces, so it never waits for, or touches, the stores the
chat reads). `job.json` there says how it stands: running with the cycles done, finished with
the report's figures, or failed with one line. A background job is a process of its own
(`python -m graphs.chat.eval_jobs FOLDER`), started detached so it outlives a restarted
server; a job whose process died without a word reads as failed.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from core.datadir import write_atomically
from core.errors import UserError
from core.text import shown
from evals.report import EvalReport
from graphs.assembly import PreparedRun, RunRequest, run_prepared
from graphs.node import CycleObserver
from graphs.summary import RunSummary

JOBS_FOLDER = "chat_evals"
JOB_FILE = "job.json"
LOG_FILE = "job.log"
MAX_RUNNING = 2
"""Background evaluations at once: more would starve the process answering the chat."""
PROGRESS_EVERY_S = 1.0

JobState = Literal["running", "finished", "failed"]


class EvalSummary(BaseModel):
    """An evaluation's report in brief (the whole one is report.json and report.html)."""

    model_config = ConfigDict(frozen=True)

    market: dict[str, Any]
    analyst: str
    partial: bool
    metrics: dict[str, Any]
    buy_and_hold: dict[str, Any]
    trades: int
    denials: dict[str, int]
    breaker_trips: int
    violations: int
    final_state: str
    warnings: list[str]
    report_json: str
    report_html: str


class JobRecord(BaseModel):
    """job.json: an evaluation as it stands."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    state: JobState
    request: dict[str, Any]
    candles: int
    done: int = 0
    started_ms: int
    updated_ms: int
    finished_ms: int | None = None
    pid: int | None = None
    error: str | None = None
    summary: EvalSummary | None = None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def jobs_root(data_dir: Path) -> Path:
    return data_dir / JOBS_FOLDER


def new_job(data_dir: Path, request: RunRequest, candles: int) -> tuple[Path, JobRecord]:
    """A folder for a new evaluation and its first record (nothing runs yet)."""
    job_id = f"eval-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    folder = jobs_root(data_dir) / job_id
    folder.mkdir(parents=True)
    now = _now_ms()
    record = JobRecord(
        job_id=job_id,
        state="running",
        request=request.to_record() | {"data_dir": str(folder)},
        candles=candles,
        started_ms=now,
        updated_ms=now,
    )
    save(folder, record)
    return folder, record


def save(folder: Path, record: JobRecord) -> None:
    write_atomically(folder / JOB_FILE, record.model_dump_json(indent=1), "the job's record")


def load(folder: Path) -> JobRecord:
    """The job's record, as its process last wrote it; a running job whose process is gone
    reads as failed."""
    try:
        record = JobRecord.model_validate_json((folder / JOB_FILE).read_bytes())
    except FileNotFoundError:
        raise ValueError(f"no evaluation job {folder.name}") from None
    except ValueError as error:
        raise ValueError(f"the record of job {folder.name} cannot be read: {error}") from None
    if record.state == "running" and record.pid is not None and not _alive(record.pid):
        return record.model_copy(
            update={
                "state": "failed",
                "error": f"its process ended without finishing (see {folder / LOG_FILE})",
            }
        )
    return record


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child not yet reaped is a zombie: gone for our purpose
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def all_jobs(data_dir: Path) -> list[JobRecord]:
    """Every job of the data directory, newest first."""
    root = jobs_root(data_dir)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir(), reverse=True):
        if (folder / JOB_FILE).is_file():
            try:
                found.append(load(folder))
            except ValueError:
                continue
    return found


def running_jobs(data_dir: Path) -> int:
    return sum(job.state == "running" for job in all_jobs(data_dir))


def start_background(folder: Path) -> int:
    """Run the job in a detached process of its own; its pid."""
    log = (folder / LOG_FILE).open("ab")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "graphs.chat.eval_jobs", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"},
        )
    finally:
        log.close()
    return process.pid


def run_job(folder: Path) -> JobRecord:
    """Run the evaluation `folder/job.json` asks for, keeping the record up to date; the
    final record (finished, or failed with one line)."""
    from evals.harness import evaluate

    record = JobRecord.model_validate_json((folder / JOB_FILE).read_bytes())
    record = record.model_copy(update={"pid": os.getpid()})
    save(folder, record)
    progress = _Progress(folder, record)
    try:
        result, _ = evaluate(RunRequest.from_record(record.request), folder, run=progress.runner)
    except (UserError, ValueError) as error:
        return progress.end("failed", error=_line(str(error)))
    except Exception as error:  # the job says what happened; the log has the traceback
        progress.end("failed", error=_line(f"{type(error).__name__}: {error}"))
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
                self._save(done=self.done)

        return run_prepared(prepared, on_cycle=counted, stop_on_interrupt=False)

    def _save(self, **update: Any) -> None:
        self.record = self.record.model_copy(update={**update, "updated_ms": _now_ms()})
        save(self.folder, self.record)
        self.saved_at = time.monotonic()

    def end(self, state: JobState, **update: Any) -> JobRecord:
        self._save(state=state, done=self.done, finished_ms=_now_ms(), **update)
        return self.record


def summarize(report: EvalReport, folder: Path) -> EvalSummary:
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
        warnings=[_line(w) for w in report.warnings[:5]],
        report_json=str(folder / "report.json"),
        report_html=str(folder / "report.html"),
    )


def _line(text: str) -> str:
    cleaned = shown(text, one_line=True)
    return cleaned if len(cleaned) <= 300 else cleaned[:299] + "…"


if __name__ == "__main__":  # the background process: python -m graphs.chat.eval_jobs FOLDER
    run_job(Path(sys.argv[1]))
