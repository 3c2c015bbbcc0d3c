"""Running a suite: every market times every configuration, each job an ordinary evaluation
in a worker process, into `OUT/<market>/<config>/`. A worker imports no CLI module, so the
same job function serves local processes and a cluster."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from core.dates import parse_date
from core.errors import UserError
from evals.suite import Suite, SuiteJob
from graphs.assembly import RunRequest


def job_request(job: SuiteJob) -> RunRequest:
    """The evaluation a job asks for (an invalid date is a UserError)."""
    options = job.options
    memory = options.get("memory")
    return RunRequest(
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


def run_job(job: SuiteJob, folder: str) -> dict[str, Any]:
    """One job in a worker process: its report as a dict, or the one-line error it hit."""
    from core.datadir import output_folder
    from evals.harness import evaluate

    try:
        result, _ = evaluate(job_request(job), output_folder(Path(folder)))
    except Exception as exc:  # a bug in one job must not take the suite down: report it
        return failed_row(job, error_line(exc))
    return report_row(job, folder, result.report.model_dump(mode="json"))


def error_line(exc: BaseException) -> str:
    """A UserError says what to do in its own words; anything else is named by its class."""
    return str(exc) if isinstance(exc, UserError) else f"{exc.__class__.__name__}: {exc}"


def report_row(job: SuiteJob, folder: str, report: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": job.label,
        "market": job.market_label,
        "config": job.config,
        "folder": folder,
        "report": report,
    }


def failed_row(job: SuiteJob, error: str) -> dict[str, Any]:
    return {"label": job.label, "market": job.market_label, "config": job.config, "error": error}


def run_suite(
    suite: Suite, folder: Path, workers: int, on_done: Callable[[], None] | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Every job on `workers` local processes; the rows, and whether Ctrl-C cut it short
    (jobs not started are cancelled, running ones finish and count)."""
    rows: list[dict[str, Any]] = []
    pool = ProcessPoolExecutor(max_workers=workers)
    futures: dict[Future[dict[str, Any]], SuiteJob] = {
        pool.submit(run_job, job, str(folder / job.label)): job for job in suite.jobs
    }
    partial = False
    try:
        for _ in as_completed(futures):
            if on_done is not None:
                on_done()
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
            rows.append(failed_row(job, error_line(exc)))
    return rows, partial
