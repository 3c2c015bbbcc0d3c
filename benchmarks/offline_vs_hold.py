"""The offline analyst against buy-and-hold on every recorded market in ../shared/markets.

    .venv/bin/python benchmarks/offline_vs_hold.py [--workers 2] [--only SUBSTRING]
        [--timeframe 1h] [--out offline_vs_hold.md] [--markets DIR]

Each recording is replayed through the real session (`graphs.session.run_session`, the path
`tradegraph run` takes: paper broker, validator, breakers, traces and situation memory) with the
offline analyst and the default settings, in a temporary data directory of its own, on
`--workers` processes. A line is printed as each market finishes; then a table of the offline
run's return, max drawdown, orders/fills and final trading state beside buy-and-hold's return
and max drawdown over the same candles; `--out` also writes it as markdown. Without the
recordings it says so and exits without error, so it can sit in any checklist.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_MARKETS = ROOT.parent / "shared" / "markets"


@dataclass(frozen=True)
class Row:
    file: str
    recording: str
    symbol: str
    timeframe: str
    bars: int
    total_return: float
    max_drawdown: float
    orders: int
    fills: int
    state: str
    hold_return: float
    hold_drawdown: float
    seconds: float


def discover(markets: Path) -> list[Path]:
    """Every candle file of the recordings, in the manifest's order when there is one."""
    manifest = markets / "manifest.json"
    if manifest.is_file():
        listed = json.loads(manifest.read_text(encoding="utf-8"))
        files = [markets / f["file"] for r in listed["recordings"] for f in r["files"]]
        return [f for f in files if f.is_file()]
    return sorted(markets.glob("*/*.csv.gz"))


def run_one(path: str) -> Row:
    """One market through the real session with the offline analyst, in a throwaway data dir."""
    from agents.offline import OfflineAnalyst
    from core.market.source import MarketRequest, open_market
    from core.settings import load_settings
    from graphs.session import SessionPlan, run_session
    from tools.metrics import max_drawdown

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="offline-vs-hold-") as tmp:
        settings = load_settings(data_dir=Path(tmp), market=path, analyst="offline")
        info, series = open_market(MarketRequest(spec=settings.market))
        run_id = "vs-hold-" + Path(path).name.split(".")[0]
        plan = SessionPlan(
            run_id=run_id, info=info, series=series, settings=settings, data_dir=Path(tmp)
        )
        summary = run_session(plan, OfflineAnalyst())
    return Row(
        file=path,
        recording=Path(path).parent.name,
        symbol=info.symbol,
        timeframe=info.timeframe,
        bars=summary.bars,
        total_return=summary.total_return,
        max_drawdown=summary.max_drawdown,
        orders=summary.orders,
        fills=summary.fills,
        state=summary.trading_state,
        hold_return=summary.buy_and_hold_return,
        hold_drawdown=max_drawdown(series.close[: summary.decisions].tolist()),
        seconds=time.perf_counter() - started,
    )


HEADER = (
    "recording",
    "symbol",
    "tf",
    "bars",
    "offline return",
    "offline max DD",
    "orders / fills",
    "final state",
    "buy & hold return",
    "buy & hold max DD",
)


def cells(row: Row) -> tuple[str, ...]:
    return (
        row.recording,
        row.symbol,
        row.timeframe,
        f"{row.bars:,}",
        f"{row.total_return:+.2%}",
        f"{row.max_drawdown:.2%}",
        f"{row.orders} / {row.fills}",
        row.state,
        f"{row.hold_return:+.2%}",
        f"{row.hold_drawdown:.2%}",
    )


def verdict(rows: list[Row]) -> list[str]:
    """The few sentences a reader wants under the table."""
    n = len(rows)
    beat = sum(r.total_return > r.hold_return for r in rows)
    shallower = sum(r.max_drawdown < r.hold_drawdown for r in rows)
    traded = [r for r in rows if r.orders > 0]
    positive = sum(r.total_return > 0 for r in traded)
    mean = sum(r.total_return for r in rows) / n
    mean_hold = sum(r.hold_return for r in rows) / n
    return [
        f"offline beat buy-and-hold on {beat} of {n}; shallower max drawdown on {shallower} of {n}",
        f"traded on {len(traded)} of {n}; positive on {positive} of those {len(traded)}",
        f"mean return: offline {mean:+.2%}, buy-and-hold {mean_hold:+.2%}",
    ]


def text_table(rows: list[Row]) -> str:
    table = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    right = {3, 4, 5, 6, 8, 9}
    lines = [
        "  ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(line)
        )
        for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[Row], command: str) -> str:
    out = [
        "# Offline analyst vs buy-and-hold on the recorded markets",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{command}`: each market "
        "replayed through the real session (paper broker, validator, breakers, memory) with "
        "the offline analyst and default settings (10,000 USDT, 0.1% fee, 5 bps slippage).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---:" if i in {3, 4, 5, 6, 8, 9} else "---" for i in range(10)) + "|",
        *("| " + " | ".join(cells(r)) + " |" for r in rows),
        "",
        *(f"- {line}" for line in verdict(rows)),
        "",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=Path, default=DEFAULT_MARKETS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", help="keep files whose path contains this")
    parser.add_argument("--timeframe", help="keep files of this timeframe, e.g. 1h")
    parser.add_argument("--out", type=Path, help="also write the table as markdown here")
    args = parser.parse_args()
    if not args.markets.is_dir():
        print(f"skipped: no recorded markets at {args.markets} (pass --markets DIR)")
        return
    files = discover(args.markets)
    if args.only:
        files = [f for f in files if args.only.lower() in str(f.relative_to(args.markets)).lower()]
    if args.timeframe:
        files = [f for f in files if f.name.split(".")[0].endswith(f"-{args.timeframe}")]
    if not files:
        print("skipped: no recorded market matches --only/--timeframe")
        return
    order = {str(f): i for i, f in enumerate(files)}
    biggest_first = sorted(files, key=lambda f: -f.stat().st_size)
    print(f"{len(files)} markets on {args.workers} workers", flush=True)
    rows: list[Row] = []
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = {pool.submit(run_one, str(f)): f for f in biggest_first}
        for done, future in enumerate(as_completed(futures), 1):
            row = future.result()
            rows.append(row)
            print(
                f"[{done}/{len(files)}] {row.recording}/{row.symbol} {row.timeframe} "
                f"({row.bars:,} bars): offline {row.total_return:+.2%} "
                f"(DD {row.max_drawdown:.2%}, {row.orders} orders, {row.state}) vs hold "
                f"{row.hold_return:+.2%} (DD {row.hold_drawdown:.2%}) in {row.seconds:.0f}s",
                flush=True,
            )
    rows.sort(key=lambda r: order[r.file])
    print()
    print(text_table(rows))
    print()
    for line in verdict(rows):
        print(line)
    print(f"wall time {time.perf_counter() - started:,.0f}s")
    if args.out is not None:
        command = "python benchmarks/offline_vs_hold.py " + " ".join(sys.argv[1:])
        args.out.write_text(markdown(rows, command.strip()), encoding="utf-8")
        print(f"markdown: {args.out}")


if __name__ == "__main__":
    main()
