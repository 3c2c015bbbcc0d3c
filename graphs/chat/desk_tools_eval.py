"""`run_eval` and `eval_job_status`: the agent replayed through the whole graph over a window of
the market, the report `tradegraph eval` writes. A window within `INLINE_CANDLES` is answered
at once; a longer one (or one asked for in the background) becomes a job whose progress is
polled (`graphs.chat.eval_jobs`). The limits are the desk's settings', never an input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from graphs.assembly import RunRequest
from graphs.chat.desk_base import ChatDesk, chat_tool
from graphs.chat.desk_market import MarketSelector, open_selected
from graphs.chat.eval_jobs import (
    MAX_RUNNING,
    EvalSummary,
    JobRecord,
    all_jobs,
    jobs_root,
    load,
    new_job,
    run_job,
    running_jobs,
    save,
    start_background,
)
from tools.registry import Tool
from tools.strategies import STRATEGIES

INLINE_CANDLES = 720
"""Candles an evaluation may replay while the chat waits (a month of 1h candles: a few
seconds); more is a job."""
MAX_EVAL_CANDLES = 50_000
MAX_JOBS_LISTED = 10
EXECUTION_KEYS = ("initial_cash", "fee_rate", "slippage_bps", "quote_currency")
"""What an evaluation takes of the desk's execution settings (never its keys)."""


class EvalQuery(MarketSelector):
    """The window to replay (the selector) and who decides."""

    analyst: str = Field(
        default="offline",
        max_length=60,
        description="offline (the personas), stress, or strategy:NAME (see list_strategies)",
    )
    memory: bool = Field(default=False, description="recall similar past situations")
    background: bool = Field(
        default=False,
        description=f"run as a job even within {INLINE_CANDLES} candles (poll eval_job_status)",
    )

    @field_validator("analyst")
    @classmethod
    def _known_analyst(cls, analyst: str) -> str:
        name = analyst.strip()
        if name in ("offline", "stress"):
            return name
        if name.startswith("strategy:") and name.partition(":")[2] in STRATEGIES:
            return name
        raise ValueError(
            f"analyst {analyst!r}: use offline, stress or strategy:NAME with one of "
            f"{', '.join(sorted(STRATEGIES))}"
        )


class EvalView(BaseModel):
    """An evaluation: finished (with its figures), or running as a job to poll."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    state: str
    candles: int
    done: int
    progress: float
    elapsed_s: float
    error: str | None = None
    summary: EvalSummary | None = None
    note: str = ""


def view(record: JobRecord, now_ms: int) -> EvalView:
    end = record.finished_ms or now_ms
    note = "" if record.state != "running" else "running: poll eval_job_status with this job_id"
    return EvalView(
        job_id=record.job_id,
        state=record.state,
        candles=record.candles,
        done=record.done,
        progress=round(record.done / record.candles, 4) if record.candles else 0.0,
        elapsed_s=round(max(0, end - record.started_ms) / 1000, 1),
        error=record.error,
        summary=record.summary,
        note=note,
    )


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def eval_request(desk: ChatDesk, query: EvalQuery) -> tuple[RunRequest, int]:
    """The run `tradegraph eval` would make of the query, and its candles."""
    opened = open_selected(desk, MarketSelector.model_validate(query.model_dump(
        include=set(MarketSelector.model_fields)
    )))  # fmt: skip
    candles = len(opened.candles)
    if candles < 2:
        raise ValueError("the window holds fewer than 2 candles: widen it")
    if candles > MAX_EVAL_CANDLES:
        raise ValueError(
            f"the window holds {candles:,} candles, more than {MAX_EVAL_CANDLES:,}: shorten it"
        )
    settings = desk.settings
    execution = settings.execution.model_dump(mode="json", include=set(EXECUTION_KEYS))
    request = RunRequest(
        market=query.market or desk.market_spec,
        symbol=opened.info.symbol,
        timeframe=opened.info.timeframe,
        start=_utc(int(opened.candles.ts[0])),
        end=_utc(int(opened.candles.ts[-1])),
        analyst=query.analyst,
        memory=query.memory,
        overrides=(
            ("risk", settings.risk.model_dump(mode="json")),
            ("breakers", settings.breakers.model_dump(mode="json")),
            ("execution", execution),
        ),
    )
    return request, candles


def run_eval(desk: ChatDesk, query: EvalQuery) -> EvalView:
    request, candles = eval_request(desk, query)
    background = query.background or candles > INLINE_CANDLES
    if background and running_jobs(desk.root) >= MAX_RUNNING:
        raise ValueError(
            f"{MAX_RUNNING} evaluations are running already: poll eval_job_status, or ask for "
            f"at most {INLINE_CANDLES} candles to have one answered at once"
        )
    folder, record = new_job(desk.root, request, candles)
    if not background:
        return view(run_job(folder), desk.now_ms())
    record = record.model_copy(update={"pid": start_background(folder)})
    save(folder, record)
    return view(record, desk.now_ms())


class JobQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str | None = Field(
        default=None,
        max_length=60,
        pattern=r"^eval-[0-9A-Za-z-]+$",
        description="the job run_eval gave; omit it for the latest jobs",
    )


class JobsView(BaseModel):
    model_config = ConfigDict(frozen=True)

    jobs: list[EvalView]


def eval_job_status(desk: ChatDesk, query: JobQuery) -> JobsView:
    now = desk.now_ms()
    if query.job_id is None:
        return JobsView(jobs=[view(job, now) for job in all_jobs(desk.root)[:MAX_JOBS_LISTED]])
    return JobsView(jobs=[view(load(jobs_root(desk.root) / query.job_id), now)])


def eval_tools(desk: ChatDesk) -> tuple[Tool[Any, Any], ...]:
    return (
        chat_tool(
            "run_eval",
            "Replay the agent through the whole decision graph and validator over a window of "
            f"the market (the report tradegraph eval writes). Up to {INLINE_CANDLES} candles "
            "it answers with the figures; longer windows start a job to poll.",
            EvalQuery,
            EvalView,
            lambda query: run_eval(desk, query),
        ),
        chat_tool(
            "eval_job_status",
            "How an evaluation job stands: running with its progress, finished with its "
            "figures (return, Sharpe, drawdown, trades, denials, against buy-and-hold), or "
            "failed with why; without job_id, the latest jobs.",
            JobQuery,
            JobsView,
            lambda query: eval_job_status(desk, query),
        ),
    )
