"""Time of a Prometheus scrape of GET /metrics, as the scraper sees it, over a store of traces.

    .venv/bin/python benchmarks/bench_metrics.py [--bars 2000] [--scrapes 7]

A `tradegraph run` of the stress analyst (`--bars` cycles, each a trace; orders, fills,
denials and breaker trips) fills a fresh data directory; the whole service (`create_app` with
the operator routers) is then served by uvicorn on 127.0.0.1 and scraped with a viewer's key.
The first scrape reads every trace (the collector's counters start from the store); the next
ones read only traces recorded since, and the account's risk store and ledger.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from api.server.app import create_app
from api.server.routers import service_routers
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from core.operator_audit import OperatorAudit
from core.settings import Settings
from graphs.chat.service import ChatEngine

TRADEGRAPH = Path(sys.executable).parent / "tradegraph"
EMBEDDER = {"TRADEGRAPH_MEMORY__EMBEDDING": "hashing"}


def fill(root: Path, bars: int) -> None:
    """A stress run of `bars` cycles into `root` (the hashing embedder the service opens)."""
    command = ["run", "--analyst", "stress", "--bars", str(bars), "--data-dir", str(root), "-q"]
    subprocess.run(
        [str(TRADEGRAPH), *command],
        check=True,
        capture_output=True,
        env=os.environ | EMBEDDER,
    )


def scrape_times(root: Path, scrapes: int) -> tuple[float, list[float], int]:
    """Seconds of the first scrape, of the next ones, and the scrape's size in bytes."""
    with closing(open_api_keys(Storage(root))) as keys:
        viewer = keys.create("prometheus", "viewer").token
    settings = Settings(data_dir=root, memory={"embedding": "hashing"})
    with (
        ChatEngine(settings) as engine,
        closing(open_api_keys(Storage(root))) as keys,
        serving_in_thread(
            create_app(
                engine, keys, routers=service_routers(engine, keys), audit=OperatorAudit(root)
            )
        ) as url,
        httpx.Client(base_url=url, headers={"authorization": f"Bearer {viewer}"}) as client,
    ):
        times, size = [], 0
        for _ in range(scrapes + 1):
            started = time.perf_counter()
            response = client.get("/metrics")
            times.append(time.perf_counter() - started)
            response.raise_for_status()
            size = len(response.content)
    return times[0], times[1:], size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=2000)
    parser.add_argument("--scrapes", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        fill(root, args.bars)
        print(f"store: {args.bars:,} traces (stress run, {time.perf_counter() - started:.1f} s)")
        first, rest, size = scrape_times(root, args.scrapes)
    print(f"first scrape (reads every trace): {first * 1000:,.0f} ms, {size:,} bytes")
    print(
        f"next {len(rest)} scrapes: median {statistics.median(rest) * 1000:,.1f} ms, "
        f"max {max(rest) * 1000:,.1f} ms"
    )


if __name__ == "__main__":
    main()
