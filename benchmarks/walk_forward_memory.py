"""Does memory help the offline analyst? A walk-forward split of every dev recording.

    .venv/bin/python benchmarks/walk_forward_memory.py [--workers 2] [--split 0.6]
        [--timeframes 1h,4h,1d] [--out walk_forward.md]

Each candle file (at the timeframes the personas trade) is cut at `--split` of its candles.
Three replays of the later part, each through the real session with default settings:
- off: memory off (no recall at all);
- cold: memory on, but an empty store (the run learns only from itself as it goes);
- trained: memory on, in a store that first replayed the earlier part, so the evaluation
  starts with every situation and lesson of the training period (all known before it began).
The table gives each variant's return and max drawdown on the evaluation part; whatever the
result, it is what the closing note reports.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.offline_vs_hold import DEFAULT_MARKETS, discover  # noqa: E402


@dataclass(frozen=True)
class Row:
    file: str
    label: str
    eval_bars: int
    first: str
    returns: dict[str, float]
    drawdowns: dict[str, float]
    orders: dict[str, int]
    hold: float
    seconds: float


def run_one(path: str, split: float) -> Row:
    import dataclasses

    from agents.offline import OfflineAnalyst
    from core.market.source import MarketRequest, open_market
    from core.settings import load_settings
    from graphs.session import SessionPlan, run_session

    started = time.perf_counter()
    info, series = open_market(MarketRequest(spec=path))
    cut = int(len(series) * split)
    train, evaluate = series.window(0, cut), series.window(cut, len(series))
    returns: dict[str, float] = {}
    drawdowns: dict[str, float] = {}
    orders: dict[str, int] = {}
    first = ""
    for variant in ("off", "cold", "trained"):
        with tempfile.TemporaryDirectory(prefix="walk-forward-") as tmp:
            data = Path(tmp)
            settings = load_settings(data_dir=data, market=path, analyst="offline")
            memory = settings.memory.model_copy(update={"enabled": variant != "off"})
            settings = settings.model_copy(update={"memory": memory})
            plan = SessionPlan("eval", info, evaluate, settings, data)
            if variant == "trained":
                run_session(
                    dataclasses.replace(plan, run_id="train", series=train), OfflineAnalyst()
                )
            summary = run_session(plan, OfflineAnalyst())
        returns[variant] = summary.total_return
        drawdowns[variant] = summary.max_drawdown
        orders[variant] = summary.orders
        first = summary.market.first[:10]
    return Row(
        file=path,
        label=f"{Path(path).parent.name}/{info.symbol} {info.timeframe}",
        eval_bars=len(evaluate),
        first=first,
        returns=returns,
        drawdowns=drawdowns,
        orders=orders,
        hold=summary.buy_and_hold_return,
        seconds=time.perf_counter() - started,
    )


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| market | evaluated from | bars | off | cold | trained | off DD | trained DD "
        "| orders off / trained | buy & hold |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.first} | {r.eval_bars:,} | {r.returns['off']:+.2%} | "
            f"{r.returns['cold']:+.2%} | {r.returns['trained']:+.2%} | "
            f"{r.drawdowns['off']:.2%} | {r.drawdowns['trained']:.2%} | "
            f"{r.orders['off']} / {r.orders['trained']} | {r.hold:+.2%} |"
        )
    return lines


def verdict(rows: list[Row]) -> list[str]:
    n = len(rows)
    better = sum(r.returns["trained"] > r.returns["off"] + 1e-12 for r in rows)
    worse = sum(r.returns["trained"] < r.returns["off"] - 1e-12 for r in rows)
    mean = {k: sum(r.returns[k] for r in rows) / n for k in ("off", "cold", "trained")}
    return [
        f"trained memory beat memory off on {better} of {n}, lost on {worse}, tied on "
        f"{n - better - worse}",
        f"mean evaluation return: off {mean['off']:+.2%}, cold {mean['cold']:+.2%}, "
        f"trained {mean['trained']:+.2%}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=Path, default=DEFAULT_MARKETS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--split", type=float, default=0.6)
    parser.add_argument("--timeframes", default="1h,4h,1d")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not args.markets.is_dir():
        print(f"skipped: no recorded markets at {args.markets} (pass --markets DIR)")
        return
    if not 0.1 <= args.split <= 0.9:
        sys.exit("--split must be between 0.1 and 0.9")
    wanted = tuple(f"-{tf}.csv.gz" for tf in args.timeframes.split(","))
    files = [f for f in discover(args.markets) if f.name.endswith(wanted)]
    order = {str(f): i for i, f in enumerate(files)}
    print(f"{len(files)} markets, split {args.split:.0%} train / {1 - args.split:.0%} evaluate")
    rows: list[Row] = []
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = [pool.submit(run_one, str(f), args.split) for f in files]
        for done, future in enumerate(as_completed(futures), 1):
            row = future.result()
            rows.append(row)
            print(
                f"[{done}/{len(files)}] {row.label}: off {row.returns['off']:+.2%}, cold "
                f"{row.returns['cold']:+.2%}, trained {row.returns['trained']:+.2%} "
                f"({row.seconds:.0f}s)",
                flush=True,
            )
    rows.sort(key=lambda r: order[r.file])
    lines = table(rows)
    print("\n" + "\n".join(lines) + "\n")
    for line in verdict(rows):
        print(line)
    print(f"wall time {time.perf_counter() - started:,.0f}s")
    if args.out is not None:
        command = "python benchmarks/walk_forward_memory.py " + " ".join(sys.argv[1:])
        notes = [f"- {v}" for v in verdict(rows)]
        title = "# Walk-forward: offline analyst with and without memory"
        text = [title, "", f"`{command.strip()}`", "", *lines, "", *notes, ""]
        args.out.write_text("\n".join(text), encoding="utf-8")


if __name__ == "__main__":
    main()
