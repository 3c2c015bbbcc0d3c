"""Evaluations the chat starts: a short one answered at once, a long one as a background job.

Each evaluation is `evals.harness.evaluate` (the replay `tradegraph eval` runs) into a folder
of its own under the data directory, `chat_evals/JOB_ID/`, which is also its data directory
(its own writer lock, ledger and traces, so it never waits for, or touches, the stores the
chat reads). `job.json` there says how it stands: running with the cycles done, finished with
the report's figures, or failed with one line.

Every evaluation runs in a process of its own (`python -m evals.chat_job FOLDER`, which sits
above the graphs it replays), started detached so a background job outlives a restarted
server; a short one is waited for. A job whose process died without a word reads as failed.
"""

from __future__ import annotations

import contextlib
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
from core.text import shown
from graphs.assembly import RunRequest

JOBS_FOLDER = "chat_evals"
JOB_FILE = "job.json"
PID_FILE = "job.pid"
"""The process running the job, written by its starter (the job's record may not name it yet)."""
LOG_FILE = "job.log"
MAX_RUNNING = 2
"""Background evaluations at once: more would starve the process answering the chat."""
PROGRESS_EVERY_S = 1.0
"""How often a running job rewrites its record with the cycles done."""

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
    pid = record.pid if record.pid is not None else _started_pid(folder)
    if record.state == "running" and pid is not None and not _alive(pid):
        return record.model_copy(
            update={
                "state": "failed",
                "error": f"its process ended without finishing (see {folder / LOG_FILE})",
            }
        )
    return record


def _started_pid(folder: Path) -> int | None:
    try:
        return int((folder / PID_FILE).read_text())
    except (OSError, ValueError):
        return None


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


def start(folder: Path) -> int:
    """Run the job in a detached process of its own; its pid."""
    log = (folder / LOG_FILE).open("ab")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "evals.chat_job", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"},
        )
    finally:
        log.close()
    write_atomically(folder / PID_FILE, str(process.pid), "the job's pid")
    return process.pid


def wait(folder: Path, pid: int, timeout_s: float) -> JobRecord:
    """The job's record once its process has ended (or, after `timeout_s`, as it stands)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # our child: reaped, its pid reads gone
            os.waitpid(pid, os.WNOHANG)
        if not _alive(pid):
            break
        time.sleep(0.05)
    return load(folder)


def line(text: str) -> str:
    """A message as one line of at most 300 characters, without control characters."""
    cleaned = shown(text, one_line=True)
    return cleaned if len(cleaned) <= 300 else cleaned[:299] + "…"
