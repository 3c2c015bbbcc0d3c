"""Breaker trips per recorded market, with the data-check ones split by kind (outlier, gap, ...).

    .venv/bin/python benchmarks/outlier_trips.py [--timeframe 1h --timeframe 4h]
        [--only SUBSTRING] [--workers 1] [--markets DIR] [--show-outliers]

Each recording of the chosen timeframes (1h and 4h by default) is replayed through the real
session (`graphs.session.run_session`, the path `tradegraph run` takes) with the offline
analyst and the default settings, in a throwaway data directory, as benchmarks/offline_vs_hold.py
does. The table counts every breaker trip of the run, the stale_data ones (a data check blocked
new entries that cycle), and how many of those named each data issue; a trip naming two issues
counts under both. Written to be run unchanged on an older checkout, to compare a data check
before and after a change. `--show-outliers` also lists each outlier trip's time and move.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.offline_vs_hold import DEFAULT_MARKETS, discover  # noqa: E402

DATA_ISSUES = ("outlier", "gap", "stale", "zero_volume")
ISSUES_PREFIX = "data issues: "


@dataclass(frozen=True)
class Row:
    file: str
    recording: str
    symbol: str
    timeframe: str
    bars: int
    trips: int
    stale_data: int
    by_issue: dict[str, int]
    outliers: tuple[str, ...]
    """"<time> <detail>" of each outlier trip."""
    seconds: float


def issues_named(reason: str) -> dict[str, str]:
    """The data issues a stale_data trip's reason lists, kind -> detail."""
    _, _, listed = reason.partition(ISSUES_PREFIX)
    named: dict[str, str] = {}
    for part in listed.split("; "):
        kind, _, detail = part.partition(": ")
        named[kind] = detail
    return named


def run_one(path: str) -> Row:
    """One market through the real session with the offline analyst, in a throwaway data dir."""
    from agents.offline import OfflineAnalyst
    from core.market.source import MarketRequest, open_market
    from core.settings import load_settings
    from graphs.session import SessionPlan, run_session

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="outlier-trips-") as tmp:
        settings = load_settings(data_dir=Path(tmp), market=path, analyst="offline")
        info, series = open_market(MarketRequest(spec=settings.market))
        run_id = "trips-" + Path(path).name.split(".")[0]
        plan = SessionPlan(
            run_id=run_id, info=info, series=series, settings=settings, data_dir=Path(tmp)
        )
        summary = run_session(plan, OfflineAnalyst())
    trips = summary.risk.breaker_trips
    by_issue: Counter[str] = Counter()
    outliers: list[str] = []
    stale_data = 0
    for trip in trips:
        if trip.breaker != "stale_data":
            continue
        stale_data += 1
        named = issues_named(trip.reason)
        by_issue.update(named.keys())
        if "outlier" in named:
            outliers.append(f"{trip.ts} {named['outlier']}")
    return Row(
        file=path,
        recording=Path(path).parent.name,
        symbol=info.symbol,
        timeframe=info.timeframe,
        bars=summary.bars,
        trips=len(trips),
        stale_data=stale_data,
        by_issue=dict(by_issue),
        outliers=tuple(outliers),
        seconds=time.perf_counter() - started,
    )


HEADER = ("recording", "symbol", "tf", "bars", "all trips", "stale_data", *DATA_ISSUES)


def cells(row: Row) -> tuple[str, ...]:
    counts = (row.by_issue.get(kind, 0) for kind in DATA_ISSUES)
    return (
        row.recording,
        row.symbol,
        row.timeframe,
        f"{row.bars:,}",
        str(row.trips),
        str(row.stale_data),
        *(str(n) for n in counts),
    )


def text_table(rows: list[Row]) -> str:
    total: tuple[str, ...] = (
        "total",
        "",
        "",
        f"{sum(r.bars for r in rows):,}",
        str(sum(r.trips for r in rows)),
        str(sum(r.stale_data for r in rows)),
        *(str(sum(r.by_issue.get(k, 0) for r in rows)) for k in DATA_ISSUES),
    )
    table = [HEADER, *(cells(r) for r in rows), total]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    lines = [
        "  ".join(c.rjust(widths[i]) if i >= 3 else c.ljust(widths[i]) for i, c in enumerate(line))
        for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - 1, lines[1])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=Path, default=DEFAULT_MARKETS)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", help="keep files whose path contains this")
    parser.add_argument(
        "--timeframe", action="append", help="keep files of this timeframe (repeatable)"
    )
    parser.add_argument("--show-outliers", action="store_true", help="list each outlier trip")
    args = parser.parse_args()
    if not args.markets.is_dir():
        print(f"skipped: no recorded markets at {args.markets} (pass --markets DIR)")
        return
    timeframes = args.timeframe or ["1h", "4h"]
    files = [
        f
        for f in discover(args.markets)
        if any(f.name.split(".")[0].endswith(f"-{tf}") for tf in timeframes)
    ]
    if args.only:
        files = [f for f in files if args.only.lower() in str(f.relative_to(args.markets)).lower()]
    if not files:
        print("skipped: no recorded market matches --only/--timeframe")
        return
    order = {str(f): i for i, f in enumerate(files)}
    print(f"{len(files)} markets on {args.workers} worker(s)", flush=True)
    rows: list[Row] = []
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = [pool.submit(run_one, str(f)) for f in files]
        for done, future in enumerate(as_completed(futures), 1):
            row = future.result()
            rows.append(row)
            print(
                f"[{done}/{len(files)}] {row.recording}/{row.symbol} {row.timeframe}: "
                f"{row.trips} trips, {row.stale_data} stale_data, "
                f"{row.by_issue.get('outlier', 0)} outlier in {row.seconds:.0f}s",
                flush=True,
            )
    rows.sort(key=lambda r: order[r.file])
    print()
    print(text_table(rows))
    if args.show_outliers:
        for row in rows:
            if row.outliers:
                print(f"\n{row.recording}/{row.symbol} {row.timeframe} outlier trips:")
                print("\n".join(f"  {line}" for line in row.outliers))
    print(f"\nwall time {time.perf_counter() - started:,.0f}s")


if __name__ == "__main__":
    main()
