"""The paired bootstrap at the size of the largest dev recording.

    .venv/bin/python benchmarks/bench_bootstrap.py [--resamples 2000] [--repeat 3]

Pairs two strategies over the 65,741 candles of binance-2020-12_2021-07-5m BTC/USDT (holding
the coin, and holding it at half size), and times `evals.paired.compare_returns` with 2,000
stationary-bootstrap resamples: the best of a few runs and the median, so a busy machine shows.
Target: at most 5 s.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MARKET = ROOT.parent / "shared" / "markets" / "binance-2020-12_2021-07-5m" / "BTC_USDT-5m.csv.gz"


def closes(path: Path) -> np.ndarray:
    import pandas as pd

    with gzip.open(path, "rt") as handle:
        frame = pd.read_csv(handle)
    column = next(c for c in frame.columns if c.lower() == "close")
    return frame[column].to_numpy(dtype=np.float64)


def main() -> None:
    from evals.paired import compare_returns

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not MARKET.is_file():
        sys.exit(f"bench_bootstrap: {MARKET} not found (the recordings sit in ../shared)")
    prices = closes(MARKET)
    held = prices[1:] / prices[:-1] - 1.0
    half = 0.5 * held
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = compare_returns(
            held, half, period_seconds=300, market="BTC/USDT 5m", resamples=args.resamples
        )
        times.append(time.perf_counter() - started)
    comparison = result.comparison
    print(
        f"paired bootstrap: {comparison.candles:,} candles x {comparison.resamples:,} resamples "
        f"(mean block {comparison.block_size:g}): best {min(times):.2f} s, median "
        f"{statistics.median(times):.2f} s over {len(times)} runs (target at most 5 s)"
    )


if __name__ == "__main__":
    main()
