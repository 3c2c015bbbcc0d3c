"""Record an exchange's closed candles into the layout of `../shared/markets`.

A recording folder holds one gzip CSV per symbol and timeframe (`BTC_USDT-1h.csv.gz`, header
`timestamp,open,high,low,close,volume`) and a `manifest.json` in the schema of the shared
markets' manifest, so a user's recordings open with `--market DIR` exactly as the shared ones
do. Fetching reuses `fetch_exchange_ohlcv` (paging, closed candles only, one-line errors).

Recording is meant to be interrupted and run again: an existing file is resumed (only the
candles before its first and after its last are fetched), its rows are kept as written (only a
repeated timestamp is dropped), and every file is replaced atomically, so Ctrl-C never leaves
half a gzip. Gaps inside a file are real (exchange maintenance) and are reported, not filled.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np

from core.datadir import write_atomically
from core.errors import DataError, UserError
from core.market.exchange import check_market, fetch_exchange_ohlcv, make_exchange
from core.market.recorded import HEADER_LINE, check_values, infer_market, market_file_name
from core.market.series import CandleSeries
from core.types import timeframe_seconds

MANIFEST: Final = "manifest.json"
FORMAT: Final = (
    "gzip CSV, header timestamp,open,high,low,close,volume; timestamp = candle open time,"
    " ms since epoch UTC; volume in base currency unless noted"
)
"""The `format` line of `../shared/markets/manifest.json`, word for word."""

CHUNK_CANDLES: Final = 20_000
"""Candles fetched between two saves of a file: Ctrl-C loses at most this many."""
Progress = Callable[[str, int, int], None]
"""`progress(symbol, candles_so_far, candles_expected)` after every page."""


@dataclass(frozen=True)
class Gap:
    """Missing candles between two held ones: `after` is the open time of the candle before."""

    after_ms: int
    missing: int


@dataclass(frozen=True)
class FileReport:
    """What recording one symbol did to its file, for the command's output and the manifest."""

    symbol: str
    timeframe: str
    path: Path
    rows: int
    added: int
    kept: int
    duplicates_dropped: int
    gaps: list[Gap] = field(default_factory=list)
    first_ms: int | None = None
    last_ms: int | None = None

    @property
    def largest_gap(self) -> Gap | None:
        return max(self.gaps, key=lambda gap: gap.missing, default=None)


def prepare_out_folder(out: Path) -> Path:
    """The recording folder, created; refused in one line when it is a file or not writable."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: give a folder for the recording")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --out {out}: {exc.strerror}") from None
    return out.resolve()


def check_window(since_ms: int, until_ms: int | None) -> None:
    if until_ms is not None and since_ms > until_ms:
        raise UserError(f"--since ({iso(since_ms)}) is after --until ({iso(until_ms)}): swap them")


def open_exchange(
    name: str, symbols: list[str], timeframe: str, factory: Callable[[str], Any] | None = None
) -> Any:
    """The exchange, with every symbol and the timeframe checked before anything is fetched."""
    timeframe_seconds(timeframe)
    exchange = (factory or make_exchange)(name)
    for symbol in symbols:
        check_market(exchange, symbol, timeframe)
    return exchange


def record_symbol(
    exchange: Any,
    symbol: str,
    timeframe: str,
    *,
    since_ms: int,
    until_ms: int | None,
    out: Path,
    progress: Progress | None = None,
) -> FileReport:
    """Fetch what the file lacks in [since, until] and write the merged file atomically."""
    period_ms = timeframe_seconds(timeframe) * 1000
    path = out / market_file_name(symbol, timeframe)
    held, file_duplicates = read_rows(path) if path.exists() else ({}, 0)
    duplicates = file_duplicates
    newest_closed = int(exchange.milliseconds()) - period_ms
    upper = newest_closed if until_ms is None else min(until_ms, newest_closed)
    spans = _missing_spans(sorted(held), since_ms, upper, period_ms)
    expected = sum((hi - lo) // period_ms + 1 for lo, hi in spans)
    rows = dict(held)
    added = 0
    done = 0

    def on_page(received: int, kept: int) -> None:
        nonlocal done, duplicates
        done += kept
        duplicates += received - kept
        if progress is not None:
            progress(symbol, done, max(expected, done))

    for lo, hi in _chunks(spans, period_ms):
        series = fetch_exchange_ohlcv(
            exchange, symbol, timeframe, bars=None, since_ms=lo, until_ms=hi, on_page=on_page
        )
        fresh = {ts: line for ts, line in _lines(series).items() if ts not in rows}
        if fresh:  # saved chunk by chunk: an interrupted recording resumes from here
            rows.update(fresh)
            added += len(fresh)
            write_atomically(path, _gzip_csv(rows), "the recording")
    if progress is not None:
        progress(symbol, done, done)
    if not rows:
        raise DataError(
            f"{exchange.id} returned no closed {symbol} {timeframe} candles from"
            f" {iso(since_ms)}: check the dates (exchanges keep limited history)"
        )
    if file_duplicates and not added:  # otherwise the file already has its new rows
        write_atomically(path, _gzip_csv(rows), "the recording")
    ordered = sorted(rows)
    return FileReport(
        symbol=symbol,
        timeframe=timeframe,
        path=path,
        rows=len(rows),
        added=added,
        kept=len(held),
        duplicates_dropped=duplicates,
        gaps=find_gaps(ordered, period_ms),
        first_ms=ordered[0] if ordered else None,
        last_ms=ordered[-1] if ordered else None,
    )


def read_rows(path: Path) -> tuple[dict[int, str], int]:
    """The data lines of an existing recording by timestamp, as written, and how many repeated
    a timestamp (the first is kept). The rows are checked as strictly as a replay checks them."""
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path}: cannot be resumed ({' '.join(str(exc).split())}): move it away and"
            " record again"
        ) from None
    header, _, body = text.partition("\n")
    if header.strip().lstrip("\ufeff") != HEADER_LINE:
        raise DataError(f"{path}: header is not {HEADER_LINE!r}: not a recording to resume")
    rows: dict[int, str] = {}
    duplicates = 0
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        try:
            ts = int(float(line.partition(",")[0]))
        except ValueError:
            raise DataError(f"{path} row {number}: timestamp is not a number") from None
        if ts in rows:
            duplicates += 1
        else:
            rows[ts] = line
    rows = dict(sorted(rows.items()))
    if rows:
        try:
            table = np.loadtxt(io.StringIO("\n".join(rows.values())), delimiter=",", ndmin=2)
        except ValueError as exc:
            raise DataError(f"{path}: cannot be parsed: {' '.join(str(exc).split())}") from None
        if table.shape[1] != len(HEADER_LINE.split(",")):
            raise DataError(f"{path}: rows do not have the columns {HEADER_LINE}")
        check_values(path, table)
    return rows, duplicates


def find_gaps(ordered_ts: list[int], period_ms: int) -> list[Gap]:
    """Every place where candles are missing between two held ones, in time order."""
    steps = np.diff(np.asarray(ordered_ts, dtype=np.int64))
    where = np.flatnonzero(steps > period_ms)
    return [Gap(after_ms=ordered_ts[int(i)], missing=int(steps[i]) // period_ms - 1) for i in where]


def write_manifest(out: Path, exchange_id: str, reports: list[FileReport]) -> Path:
    """Add or refresh the recorded files in `out/manifest.json` (file paths are relative to the
    manifest's folder); entries of files not recorded this time are kept."""
    path = out / MANIFEST
    entries: dict[str, dict[str, Any]] = {}
    recording: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            recording = dict(old["recordings"][0])
            entries = {entry["file"]: entry for entry in recording.get("files", [])}
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            raise DataError(
                f"{path}: is not a recording manifest: move it away and record again"
            ) from None
    for report in reports:
        entries[report.path.name] = manifest_entry(report)
    files = [entries[name] for name in sorted(entries)]
    firsts = [entry["first"] for entry in files if entry.get("first")]
    ends = [_end(entry) for entry in files if entry.get("last")]
    recording.update(
        recording=out.name,
        exchange=exchange_id,
        description=recording.get("description") or f"recorded from {exchange_id} through ccxt",
        source=f"ccxt fetch_ohlcv ({exchange_id})",
        license=recording.get("license") or "the exchange's terms of use",
        window_utc=[min(firsts)[:10], max(ends)[:10]] if firsts else [],
        files=files,
    )
    document = {"format": FORMAT, "recordings": [recording]}
    write_atomically(path, json.dumps(document, indent=1) + "\n", "the manifest")
    return path


def manifest_entry(report: FileReport) -> dict[str, Any]:
    """One file as the shared manifest describes it, plus the largest gap and missing total."""
    table = np.loadtxt(io.StringIO("\n".join(_file_lines(report.path))), delimiter=",", ndmin=2)
    largest = report.largest_gap
    return {
        "file": report.path.name,
        "rows": int(table.shape[0]),
        "first": iso(int(table[0, 0])),
        "last": iso(int(table[-1, 0])),
        "gaps": len(report.gaps),
        "missing_candles": sum(gap.missing for gap in report.gaps),
        "largest_gap": None
        if largest is None
        else {"after": iso(largest.after_ms), "missing_candles": largest.missing},
        "zero_volume_rows": int((table[:, 5] == 0).sum()),
        "low": float(table[:, 3].min()),
        "high": float(table[:, 2].max()),
    }


def _end(entry: dict[str, Any]) -> str:
    """When a file's last candle closes: the shared manifest's windows end there, exclusive."""
    market = infer_market(str(entry["file"]))
    last = datetime.fromisoformat(str(entry["last"]))
    period_ms = 0 if market is None else timeframe_seconds(market[1]) * 1000
    return iso(int(last.timestamp() * 1000) + period_ms)


def iso(ms: int) -> str:
    """`2023-01-01T00:00:00+00:00`, as the shared manifest writes times."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def _missing_spans(
    held: list[int], since_ms: int, upper: int, period_ms: int
) -> list[tuple[int, int]]:
    """The parts of [since, upper] outside what the file holds: before its first candle and
    after its last (gaps inside are the exchange's, not ours to refetch)."""
    if since_ms > upper:
        return []
    if not held:
        return [(since_ms, upper)]
    spans = []
    if since_ms < held[0]:
        spans.append((since_ms, min(upper, held[0] - 1)))
    if held[-1] + period_ms <= upper:
        spans.append((max(since_ms, held[-1] + period_ms), upper))
    return spans


def _chunks(spans: list[tuple[int, int]], period_ms: int) -> list[tuple[int, int]]:
    """The spans cut into pieces of CHUNK_CANDLES candles, each written when fetched."""
    step = CHUNK_CANDLES * period_ms
    return [
        (lo, min(hi, lo + step - 1)) for start, hi in spans for lo in range(start, hi + 1, step)
    ]


def _lines(series: CandleSeries) -> dict[int, str]:
    """CSV lines by timestamp; floats in their shortest exact form, as the shared files are."""
    return {
        int(ts): f"{int(ts)},{float(o)!r},{float(h)!r},{float(lo)!r},{float(c)!r},{float(v)!r}"
        for ts, o, h, lo, c, v in zip(
            series.ts, series.open, series.high, series.low, series.close, series.volume,
            strict=True,
        )
    }  # fmt: skip


def _gzip_csv(rows: dict[int, str]) -> bytes:
    text = "\n".join([HEADER_LINE, *(rows[ts] for ts in sorted(rows))]) + "\n"
    return gzip.compress(text.encode("utf-8"), mtime=0)  # same candles, same bytes


def _file_lines(path: Path) -> list[str]:
    body = gzip.decompress(path.read_bytes()).decode("utf-8").partition("\n")[2]
    return [line for line in body.splitlines() if line.strip()]
