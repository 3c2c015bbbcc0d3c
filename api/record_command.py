"""`tradegraph record`: show a recording from the command line (the work is `core.market.recorder`).

Every input is checked before the first candle is fetched (dates, timeframe, the out folder,
the exchange and each symbol), so a mistake costs one line and no request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from core.dates import parse_date
from core.errors import UserError
from core.market.recorder import (
    FileReport,
    check_window,
    iso,
    open_exchange,
    prepare_out_folder,
    record_symbol,
    write_manifest,
)
from core.market.source import normalize_symbol
from core.types import timeframe_seconds

console = Console(stderr=False)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def execute_record(
    *,
    exchange: str,
    symbols: list[str],
    timeframe: str,
    since: str,
    until: str | None,
    out: Path,
    quiet: bool,
    exchange_factory: Callable[[str], Any] | None = None,
) -> None:
    if not symbols:
        raise UserError("record needs at least one --symbol, e.g. --symbol BTC/USDT")
    wanted = list(dict.fromkeys(normalize_symbol(symbol) for symbol in symbols))
    timeframe_seconds(timeframe)
    since_ms = _ms(parse_date(since, "--since")) or 0
    until_ms = _ms(parse_date(until, "--until", end_of_day=True))
    check_window(since_ms, until_ms)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: give a folder for the recording")
    connection = open_exchange(exchange, wanted, timeframe, exchange_factory)
    folder = prepare_out_folder(out)
    console.print(
        f"[bold]tradegraph[/] recording {escape(', '.join(wanted))} {timeframe} from"
        f" {escape(connection.id)} into {escape(str(folder))}",
        highlight=False,
        soft_wrap=True,
    )
    reports: list[FileReport] = []
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
    )
    try:
        with progress:
            for symbol in wanted:
                task = progress.add_task(f"{symbol} candles", total=None)

                def update(_: str, done: int, expected: int, task: Any = task) -> None:
                    progress.update(task, completed=done, total=expected)

                reports.append(
                    record_symbol(
                        connection,
                        symbol,
                        timeframe,
                        since_ms=since_ms,
                        until_ms=until_ms,
                        out=folder,
                        progress=update,
                    )
                )
    finally:
        if reports:
            manifest = write_manifest(folder, connection.id, reports)
            for report in reports:
                console.print(_describe(report), highlight=False, soft_wrap=True)
            console.print(f"manifest: {escape(str(manifest))}", highlight=False, soft_wrap=True)


def _describe(report: FileReport) -> str:
    span = (
        f"{iso(report.first_ms)} → {iso(report.last_ms)}"
        if report.first_ms is not None and report.last_ms is not None
        else "no candles"
    )
    largest = report.largest_gap
    gaps = (
        "no gaps"
        if largest is None
        else f"{_count(len(report.gaps), 'gap')}"
        f" ({_count(sum(gap.missing for gap in report.gaps), 'candle')} missing; largest"
        f" {largest.missing:,} after {iso(largest.after_ms)})"
    )
    return (
        f"{escape(report.symbol)} {report.timeframe}: {escape(report.path.name)}"
        f" {report.rows:,} candles ({report.added:,} new, {report.kept:,} already there,"
        f" {report.duplicates_dropped:,} duplicates dropped), {span}, {gaps}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _ms(moment: datetime | None) -> int | None:
    """Naive command-line times are UTC, as candle times are."""
    if moment is None:
        return None
    return (moment.replace(tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
