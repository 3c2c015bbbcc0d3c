"""`tradegraph run`: set up a paper session from the command line, show progress, summarize."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from agents.base import Analyst
from agents.reflection import Reflector
from core.errors import UserError
from core.settings import Settings

if TYPE_CHECKING:
    from evals.cassettes import Mode
    from graphs.session import CycleObserver, SessionPlan
    from graphs.summary import RunSummary

console = Console(stderr=False)

NO_KEY = (
    "--analyst anthropic needs ANTHROPIC_API_KEY in the environment: "
    "export it, replay a recorded --cassette, or use --analyst offline"
)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def make_analyst(
    name: str, settings: Settings, data_dir: Path, *, replaying: bool = False
) -> Analyst:
    """The analyst `name`; a replay (from a cassette) needs no key and spends no real budget."""
    if name == "offline":
        from agents.offline import OfflineAnalyst

        return OfflineAnalyst()
    if name == "stress":
        from agents.stress import StressAnalyst

        return StressAnalyst()
    if name == "anthropic":
        key = api_key(settings)
        if key is None and not replaying:
            raise UserError(NO_KEY)
        from agents.budget import SpendLedger
        from agents.claude import make_claude_analyst
        from core.storage import SqliteStateStore

        llm = settings.anthropic
        store = None if replaying else SqliteStateStore(data_dir / "llm_spend.sqlite")
        return make_claude_analyst(
            key or "replay-without-a-key",
            model=llm.model,
            max_tokens=llm.max_tokens,
            timeout=llm.timeout_seconds,
            max_retries=llm.max_retries,
            price=llm.price(),
            spend=SpendLedger(llm.budget, store),
            base_url=llm.base_url,
        )
    raise UserError(f"unknown analyst {name!r}: choose offline, anthropic or stress")


def make_reflector(
    settings: Settings, analyst: Analyst, data_dir: Path, *, replaying: bool = False
) -> Reflector:
    """Who writes lessons: `memory.reflection`, or by default Claude when Claude is the
    analyst (on its client and budget) and the deterministic summary otherwise."""
    from agents.claude import ClaudeAnalyst
    from agents.reflection import SummaryReflector

    wanted = settings.memory.reflection or (
        "anthropic" if isinstance(analyst, ClaudeAnalyst) else "summary"
    )
    if wanted == "summary":
        return SummaryReflector()
    if isinstance(analyst, ClaudeAnalyst):
        return analyst.reflector()
    claude = make_analyst("anthropic", settings, data_dir, replaying=replaying)
    assert isinstance(claude, ClaudeAnalyst)
    return claude.reflector()


def api_key(settings: Settings) -> str | None:
    key = settings.anthropic_api_key
    if key is None or not key.get_secret_value().strip():
        return None
    return key.get_secret_value()


@dataclass(frozen=True)
class RunRequest:
    """What the user asked for on the command line (None: the settings decide)."""

    market: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    bars: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    analyst: str | None = None
    cassette: Path | None = None
    data_dir: Path | None = None
    memory: bool | None = None
    run_id: str | None = None
    overrides: tuple[tuple[str, object], ...] = ()
    """Settings sections to override, e.g. (("risk", {"max_position_fraction": 0.3}),)."""


@dataclass(frozen=True)
class PreparedRun:
    settings: Settings
    plan: SessionPlan
    analyst: Analyst
    cassette: Path | None
    mode: Mode | None
    """replay or record, when a cassette is given."""


def with_overrides(settings: Settings, overrides: tuple[tuple[str, object], ...]) -> Settings:
    """Settings with some sections changed; every limit is validated again (one line if not)."""
    if not overrides:
        return settings
    from pydantic import ValidationError

    from core.settings import Settings as SettingsModel

    merged = settings.model_dump()
    for section, value in overrides:
        if section not in merged:
            raise UserError(f"unknown setting {section!r} in the suite: see `tradegraph config`")
        merged[section] = _merged(merged[section], value)
    try:
        return SettingsModel.model_validate(
            {**merged, "anthropic_api_key": settings.anthropic_api_key}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"invalid setting {where} in the suite: {first['msg']}") from None


def _merged(current: object, change: object) -> object:
    """`change` laid over `current`, table by table (a nested value keeps its siblings)."""
    if isinstance(current, dict) and isinstance(change, dict):
        return {**current, **{k: _merged(current.get(k), v) for k, v in change.items()}}
    return change


def prepare_run(request: RunRequest) -> PreparedRun:
    """Settings, analyst, market and plan, with every user mistake refused before any work."""
    from core.datadir import prepare_data_dir
    from core.market.source import MarketRequest, open_market
    from core.settings import load_settings
    from graphs.session import SessionPlan

    settings = load_settings(
        data_dir=request.data_dir, analyst=request.analyst, market=request.market
    )
    settings = with_overrides(settings, request.overrides)
    if request.memory is not None:
        settings = settings.model_copy(
            update={"memory": settings.memory.model_copy(update={"enabled": request.memory})}
        )
    mode = None
    if request.cassette is not None:
        if settings.analyst != "anthropic":
            raise UserError("--cassette records Anthropic calls: use it with --analyst anthropic")
        from evals.cassettes import cassette_mode

        mode = cassette_mode(request.cassette, have_key=api_key(settings) is not None)
    if settings.analyst == "anthropic" and mode is None and api_key(settings) is None:
        raise UserError(NO_KEY)
    root = prepare_data_dir(settings.data_dir)
    replaying = mode == "replay"
    chosen = make_analyst(settings.analyst or "offline", settings, root, replaying=replaying)
    info, series = open_market(
        MarketRequest(
            spec=settings.market,
            symbol=request.symbol,
            timeframe=request.timeframe,
            bars=request.bars,
            start=request.start,
            end=request.end,
        )
    )
    plan = SessionPlan(
        run_id=request.run_id or new_run_id(),
        info=info,
        series=series,
        settings=settings,
        data_dir=root,
        reflector=make_reflector(settings, chosen, root, replaying=replaying),
    )
    return PreparedRun(settings, plan, chosen, request.cassette, mode)


def replay_with_progress(
    prepared: PreparedRun,
    *,
    quiet: bool,
    process_start: float,
    verb: str = "paper run",
    on_cycle: CycleObserver | None = None,
    stop_on_interrupt: bool = False,
    announce: bool = True,
) -> RunSummary:
    """Run the session with a progress bar (and the cassette, if any) and return its summary."""
    from graphs.session import run_session

    plan, chosen = prepared.plan, prepared.analyst
    info, series = plan.info, plan.series
    label = " [bold yellow]SYNTHETIC DATA[/]" if info.synthetic else ""
    if announce:
        console.print(
            f"[bold]tradegraph[/] {verb} [cyan]{plan.run_id}[/] · {info.symbol} "
            f"{info.timeframe} from {info.source}{label} · analyst [green]{chosen.name}[/] · "
            f"{len(series):,} candles"
        )
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )
    with progress:
        task = progress.add_task("deciding", total=len(series), rate="")
        step = max(1, len(series) // 200)

        def on_progress(done: int) -> None:
            if done % step == 0 or done == len(series):
                elapsed = progress.tasks[task].elapsed or 0.0
                rate = f"{done / elapsed:,.0f} decisions/s" if elapsed > 0 else ""
                progress.update(task, completed=done, rate=rate)

        with _recorded_calls(prepared):
            return run_session(
                plan,
                chosen,
                on_progress,
                started=process_start,
                on_cycle=on_cycle,
                stop_on_interrupt=stop_on_interrupt,
            )


@contextmanager
def _recorded_calls(prepared: PreparedRun) -> Iterator[None]:
    if prepared.cassette is None or prepared.mode is None:
        yield
        return
    from evals.cassettes import llm_cassette

    with llm_cassette(prepared.cassette, prepared.mode):
        yield


def execute_run(
    request: RunRequest, *, json_path: Path | None, quiet: bool, process_start: float
) -> None:
    if json_path is not None:
        _check_writable(json_path)
    prepared = prepare_run(request)
    summary = replay_with_progress(prepared, quiet=quiet, process_start=process_start)
    console.print(summary_table(summary))
    from graphs.halt_notice import halt_notice

    if notice := halt_notice(summary):
        console.print(notice, markup=False, soft_wrap=True)
    console.print(
        f"Traces: {summary.traces:,} hash-chained traces in {summary.trace_store.path} "
        f"(collection '{summary.trace_store.collection}', run {summary.run_id}, "
        f"chain head {summary.trace_store.chain_head[:12]})"
    )
    if json_path is not None:
        write_atomically(json_path, summary.model_dump_json(indent=2) + "\n", "--json")
        console.print(f"Summary JSON: {json_path}")


def write_atomically(path: Path, text: str, what: str) -> None:
    """Write through a temporary file, so a crash never leaves half a file behind."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {what} {path}: {exc.strerror}") from None


def _check_writable(path: Path) -> None:
    """Refuse a --json path that cannot be written before the run, not after it."""
    folder = path.parent.resolve()
    if path.is_dir():
        raise UserError(f"--json {path} is a folder: give a file name, e.g. {path}/out.json")
    if not folder.is_dir():
        raise UserError(f"cannot write --json {path}: folder {path.parent} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write --json {path}: folder {path.parent} is not writable")


def summary_table(summary: RunSummary) -> Table:
    s = summary
    table = Table(title=f"Run {s.run_id}", show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("")
    synthetic = " (synthetic)" if s.market.synthetic else ""
    table.add_row("Market", f"{s.market.symbol} {s.market.timeframe}{synthetic}  {s.market.source}")
    table.add_row("Window", f"{s.market.first} → {s.market.last}  ({s.bars:,} candles)")
    table.add_row("Decisions", f"{s.decisions:,}  ({s.perf.decisions_per_second:,.0f}/s)")
    table.add_row("Orders / fills", f"{s.orders:,} / {s.fills:,}")
    denied = ", ".join(f"{code} {n}" for code, n in s.denials.items()) or "none"
    table.add_row("Denials", denied)
    table.add_row("Equity", f"{s.equity_start:,.2f} → {s.equity_final:,.2f}")
    colour = "green" if s.total_return >= 0 else "red"
    table.add_row(
        "Return",
        f"[{colour}]{s.total_return:+.2%}[/]  (buy and hold {s.buy_and_hold_return:+.2%})",
    )
    table.add_row("Max drawdown", f"{s.max_drawdown:.2%}")
    table.add_row("Fees paid", f"{s.fees_paid:,.2f}")
    table.add_row("Trading state", s.trading_state)
    if s.llm.requests:
        u = s.llm
        table.add_row(
            "LLM",
            f"{u.requests:,} requests · tokens in {u.input_tokens:,}, out {u.output_tokens:,}, "
            f"cache read {u.cache_read_tokens:,}, cache write {u.cache_creation_tokens:,} · "
            f"${u.cost_usd:,.4f}",
        )
    checked = "[green]0[/]" if s.risk.violations == 0 else f"[bold red]{s.risk.violations}[/]"
    table.add_row("Limit violations", f"{checked} (executed orders re-checked independently)")
    table.add_row("Breaker trips", _trip_lines(s) or "none")
    return table


def _trip_lines(summary: RunSummary) -> str:
    """One line per kind of trip, in the order they first happened, with how often."""
    first: dict[str, str] = {}
    counts: dict[str, int] = {}
    for trip in summary.risk.breaker_trips:
        stage = trip.reason.split(":")[0] if trip.breaker == "stale_data" else trip.reason
        key = f"{trip.breaker}:{_stage(trip.breaker, stage)}"
        counts[key] = counts.get(key, 0) + 1
        short = trip.reason.split(" (")[0]
        first.setdefault(key, f"{trip.ts[:16]} {trip.breaker}: {short}")
    return "\n".join(
        first[key] + (f"  (x{counts[key]})" if counts[key] > 1 else "") for key in first
    )


def _stage(breaker: str, reason: str) -> str:
    for word in ("size cut", "REDUCING", "halt", "HALTED"):
        if word in reason:
            return word
    return breaker
