"""Evaluation suites started over HTTP: `tradegraph eval --suite FILE --out FOLDER --quiet` in a
detached process of its own, into `served_suites/JOB_ID/` of the server's data directory.

The suite's file is checked first (`evals.suite.load_suite`: one line for what is wrong), so a
mistake is refused before anything runs. `job.json` says what was asked and which process runs
it; how the job stands is read from the folder: each finished configuration leaves its
`report.json` under `out/<market>/<config>/`, the combined `suite.json` and `suite.html` are
written once all are done, and a process that ended without them failed (its log says why).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from api.server.served_agents import tradegraph_command
from core.datadir import write_atomically
from core.errors import UserError
from evals.suite import load_suite

SUITES_FOLDER: Final = "served_suites"
JOB_FILE: Final = "job.json"
LOG_FILE: Final = "job.log"
OUT: Final = "out"
REPORTS: Final = {"report.json": "suite.json", "report.html": "suite.html"}
"""The suite's own files behind the routes' report names."""


class SuiteRecord(BaseModel):
    """job.json: the suite asked for and the process running it."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    suite: str
    file: str
    jobs: int
    pid: int
    started_ms: int


class SuiteView(BaseModel):
    """A suite job as it stands now."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    kind: Literal["suite"] = "suite"
    suite: str
    state: Literal["running", "finished", "failed"]
    jobs: int
    done: int
    progress: float
    elapsed_s: float
    error: str | None = None


def suites_root(data_dir: Path) -> Path:
    return data_dir / SUITES_FOLDER


def start_suite(data_dir: Path, file: Path, now_ms: int) -> SuiteView:
    """Check the suite `file`, then run it detached; UserError naming what is wrong with it."""
    try:
        regular = file.suffix == ".toml" and file.is_file()
    except (OSError, ValueError):
        regular = False
    if not regular:
        raise UserError(f"suite file {file} not found: give the path of a .toml suite")
    suite = load_suite(file)
    job_id = f"suite-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    folder = suites_root(data_dir) / job_id
    folder.mkdir(parents=True)
    with (folder / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            [*tradegraph_command(), "eval", "--suite", str(file.resolve()),
             "--out", str(folder / OUT), "--quiet"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"},
        )  # fmt: skip
    record = SuiteRecord(
        job_id=job_id,
        suite=suite.name,
        file=str(file.resolve()),
        jobs=len(suite.jobs),
        pid=process.pid,
        started_ms=now_ms,
    )
    write_atomically(folder / JOB_FILE, record.model_dump_json(indent=1), "the suite's record")
    return suite_view(folder, now_ms)


def suite_view(folder: Path, now_ms: int) -> SuiteView:
    """How the suite in `folder` stands; ValueError when there is none."""
    try:
        record = SuiteRecord.model_validate_json((folder / JOB_FILE).read_bytes())
    except (OSError, ValueError):
        raise ValueError(f"no suite job {folder.name}") from None
    out = folder / OUT
    done = min(record.jobs, sum(1 for _ in out.glob("*/*/report.json")))
    finished = (out / "suite.json").is_file() and (out / "suite.html").is_file()
    state: Literal["running", "finished", "failed"] = "finished" if finished else "running"
    error = None
    if not finished and not _running(record.pid):
        state, error = "failed", _last_line(folder / LOG_FILE) or "its process ended early"
    return SuiteView(
        job_id=record.job_id,
        suite=record.suite,
        state=state,
        jobs=record.jobs,
        done=record.jobs if finished else done,
        progress=1.0 if finished else round(done / record.jobs, 4) if record.jobs else 0.0,
        elapsed_s=round(max(0, now_ms - record.started_ms) / 1000, 1),
        error=error,
    )


def all_suites(data_dir: Path, now_ms: int) -> list[SuiteView]:
    """Every suite job of the data directory, newest first."""
    root = suites_root(data_dir)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir(), reverse=True):
        try:
            found.append(suite_view(folder, now_ms))
        except ValueError:
            continue
    return found


def suite_report(folder: Path, name: str) -> Path:
    """The file behind the route's report `name` (report.json, report.html)."""
    return folder / OUT / REPORTS[name]


def _running(pid: int) -> bool:
    """Whether `pid` is still a suite's process (a reaped or reused pid is not; a zombie
    child not yet reaped neither)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"--suite" in cmdline


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].removeprefix("error: ")[:300] if lines else ""
