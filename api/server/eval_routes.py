"""/v1/evals: evaluations over HTTP, as background jobs with their progress.

A trader starts one (the replay `tradegraph eval` makes, over a window of the desk's market or
the synthetic one), or a suite (`tradegraph eval --suite FILE`, `api.server.suite_jobs`). One
evaluation runs as the chat's evaluation jobs run (`graphs.chat.eval_jobs`: a
detached process into `chat_evals/JOB_ID/` of the server's data directory, with its own
writer lock), so the chat's `eval_job_status` and these routes see the same jobs. A viewer
lists them, reads one, and fetches the report.json and report.html it wrote (a suite's:
its suite.json and suite.html).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.server.audit import note_audit
from api.server.auth import Caller, KeyLookup, caller_with
from api.server.errors import ApiError, validation_line
from api.server.rate_limit import WRITE_LIMIT, KeyBuckets, limited
from api.server.suite_jobs import (
    SuiteView,
    all_suites,
    start_suite,
    suite_report,
    suite_view,
    suites_root,
)
from core.errors import UserError
from graphs.chat.desk_market import MarketSelector
from graphs.chat.desk_tools_eval import EvalQuery, EvalView, run_eval, view
from graphs.chat.eval_jobs import MAX_RUNNING, JobRecord, all_jobs, jobs_root, load, running_jobs
from graphs.chat.service import ChatEngine

JOB_PATTERN: Final = r"^(eval|suite)-[0-9A-Za-z-]{1,60}$"
REPORTS: Final = {"report.json": "application/json", "report.html": "text/html; charset=utf-8"}


class EvalStartBody(MarketSelector):
    """The window to replay (`days`, or `start` and `end`) and who decides."""

    analyst: str = Field(
        default="offline", max_length=60, description="offline, stress, or strategy:NAME"
    )
    memory: bool = Field(default=False, description="recall similar past situations")
    suite: str | None = Field(
        default=None,
        max_length=500,
        description="a suite TOML file on the server (as `tradegraph eval --suite`), instead "
        "of one window: its markets and configurations are in the file",
    )


class EvalJobs(BaseModel):
    model_config = ConfigDict(frozen=True)

    jobs: list[EvalView | SuiteView]


def unknown_eval(job_id: str) -> ApiError:
    return ApiError(404, "unknown_eval", f"no evaluation {job_id!r}: GET /v1/evals lists them")


def not_finished(job_id: str, state: str) -> ApiError:
    return ApiError(
        409,
        "eval_not_finished",
        f"evaluation {job_id} is {state}: its report is written once it finishes",
    )


def eval_jobs(data_dir: Path, now_ms: int) -> EvalJobs:
    """Every evaluation and suite job of `data_dir`, newest first."""
    singles: list[EvalView | SuiteView] = [view(r, now_ms) for r in all_jobs(data_dir)]
    jobs = singles + list(all_suites(data_dir, now_ms))
    return EvalJobs(jobs=sorted(jobs, key=lambda j: j.job_id.split("-", 1)[1], reverse=True))


def eval_router(engine: ChatEngine, keys: KeyLookup, writes: KeyBuckets | None = None) -> APIRouter:
    """The evaluation routes over the data directory of `engine`'s desk; a start takes a
    token of the key's bucket in `writes`."""
    writes = KeyBuckets(WRITE_LIMIT) if writes is None else writes
    desk = engine.desk
    router = APIRouter(prefix="/v1/evals", tags=["evaluations"])
    viewer = Depends(caller_with(keys, "viewer", "reading evaluations"))
    trader = Depends(limited(caller_with(keys, "trader", "starting an evaluation"), writes))

    def job(job_id: str) -> JobRecord:
        if not re.match(JOB_PATTERN, job_id) or not job_id.startswith("eval-"):
            raise unknown_eval(job_id)
        try:
            return load(jobs_root(desk.root) / job_id)
        except ValueError:
            raise unknown_eval(job_id) from None

    def suite_file(job_id: str, name: str) -> FileResponse:
        state = suite(job_id).state
        if state != "finished":
            raise not_finished(job_id, state)
        path = suite_report(suites_root(desk.root) / job_id, name)
        return FileResponse(path, media_type=REPORTS[name])

    @router.post("", status_code=202, summary="Start an evaluation as a background job")
    def start_eval(
        request: Request, body: EvalStartBody, caller: Caller = trader
    ) -> EvalView | SuiteView:
        started = start_job(body)
        note_audit(request, job_id=started.job_id)
        return started

    def start_job(body: EvalStartBody) -> EvalView | SuiteView:
        if body.suite is not None:
            return start_suite_job(body)
        if running_jobs(desk.root) >= MAX_RUNNING:
            raise ApiError(
                429,
                "too_many_evals",
                f"{MAX_RUNNING} evaluations are running already: poll GET /v1/evals and start "
                "this one when one has finished",
            )
        try:
            query = EvalQuery(**body.model_dump(exclude={"suite"}), background=True)
        except ValidationError as invalid:
            raise ApiError(
                422, "invalid_request", validation_line(invalid.errors(), "json")
            ) from None
        try:
            return run_eval(desk, query)
        except ValueError as refused:
            raise ApiError(422, "invalid_eval", str(refused)) from None

    def start_suite_job(body: EvalStartBody) -> SuiteView:
        assert body.suite is not None
        extra = sorted(body.model_fields_set - {"suite"})
        if extra:
            raise ApiError(
                422,
                "invalid_request",
                f"{extra[0]}: a suite names its markets and configurations in its file: drop it",
            )
        try:
            return start_suite(desk.root, Path(body.suite).expanduser(), desk.now_ms())
        except UserError as refused:
            raise ApiError(422, "invalid_suite", str(refused)) from None

    def suite(job_id: str) -> SuiteView:
        try:
            return suite_view(suites_root(desk.root) / job_id, desk.now_ms())
        except ValueError:
            raise unknown_eval(job_id) from None

    @router.get("", summary="Every evaluation and suite job, newest first, with its progress")
    def list_evals(caller: Caller = viewer) -> EvalJobs:
        return eval_jobs(desk.root, desk.now_ms())

    @router.get("/{job_id}", summary="One evaluation or suite: running, finished or failed")
    def eval_status(job_id: str, caller: Caller = viewer) -> EvalView | SuiteView:
        if job_id.startswith("suite-") and re.match(JOB_PATTERN, job_id):
            return suite(job_id)
        return view(job(job_id), desk.now_ms())

    def report(job_id: str, name: str) -> FileResponse:
        if job_id.startswith("suite-") and re.match(JOB_PATTERN, job_id):
            return suite_file(job_id, name)
        record = job(job_id)
        if record.state != "finished" or record.summary is None:
            raise not_finished(job_id, record.state)
        folder = (jobs_root(desk.root) / job_id).resolve()
        path = Path(getattr(record.summary, name.replace(".", "_"))).resolve()
        if not path.is_file() or not path.is_relative_to(folder):
            raise ApiError(404, "report_missing", f"evaluation {job_id} has no {name} any more")
        return FileResponse(path, media_type=REPORTS[name])

    @router.get("/{job_id}/report.json", summary="The evaluation's report.json")
    def report_json(job_id: str, caller: Caller = viewer) -> FileResponse:
        return report(job_id, "report.json")

    @router.get("/{job_id}/report.html", summary="The evaluation's report.html")
    def report_html(job_id: str, caller: Caller = viewer) -> FileResponse:
        return report(job_id, "report.html")

    return router
