"""Where a decision cycle's time goes: cProfile over an in-process evaluation, per step and per
function.

    .venv/bin/python benchmarks/profile_cycle.py [--market PATH] [--candles N] [--top 25]

Evaluates the first N candles (default 20,000) of binance-2020-12_2021-07-5m BTC/USDT in this
process (offline analyst deciding every candle, memory on) under cProfile, then prints:
- each step's mean wall time per cycle, from the traces' own per-node latencies (taken under
  the profiler, which slows Python calls unevenly: read them as shares, not absolutes);
- the functions with the most time of their own (tottime), and the cumulative time of the
  decision path's main entry points, in ms per cycle.
The profile is of this process only: with a writer process (memory.writer), the store's writes
happen in the child and are not in it, which is the point.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MARKET = ROOT.parent / "shared" / "markets" / "binance-2020-12_2021-07-5m" / "BTC_USDT-5m.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market", type=Path, default=MARKET)
    parser.add_argument("--candles", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path, help="also write the raw profile here (pstats)")
    args = parser.parse_args()
    if not args.market.is_file():
        print(f"skipped: no recording at {args.market}")
        return
    from evals.harness import evaluate
    from graphs.assembly import RunRequest

    with tempfile.TemporaryDirectory(prefix="profile-cycle-") as tmp:
        request = RunRequest(
            market=str(args.market), analyst="offline", bars=args.candles,
            data_dir=Path(tmp),
        )  # fmt: skip
        report = Path(tmp) / "report"
        report.mkdir()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        _, recorder = evaluate(request, report)
        profiler.disable()
        wall = time.perf_counter() - started
    cycles = len(recorder.traces)
    print(f"{cycles:,} cycles in {wall:.1f} s under cProfile ({cycles / wall:,.0f}/s)")
    steps: dict[str, list[float]] = defaultdict(list)
    for trace in recorder.traces:
        for name, ms in trace.latency_ms.items():
            steps[name].append(ms)
    total = sum(statistics.fmean(v) * len(v) / cycles for v in steps.values())
    print("\nper step, mean ms per cycle (share of the steps' total):")
    for name, values in steps.items():
        per_cycle = statistics.fmean(values) * len(values) / cycles
        print(f"  {name:<10} {per_cycle:7.3f} ms  {per_cycle / total:6.1%}")
    print(f"  {'all steps':<10} {total:7.3f} ms")
    stats = pstats.Stats(profiler)
    if args.save:
        stats.dump_stats(args.save)
    rows = []
    for (path, line, func), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((tottime, cumtime, calls, f"{_short(path)}:{line}({func})"))
    print(f"\ntop {args.top} by own time, ms per cycle (own, cumulative, calls per cycle):")
    for tottime, cumtime, calls, where in sorted(rows, reverse=True)[: args.top]:
        print(
            f"  {tottime * 1000 / cycles:7.3f} {cumtime * 1000 / cycles:7.3f} "
            f"{calls / cycles:7.1f}  {where}"
        )


def _short(path: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


if __name__ == "__main__":
    main()
