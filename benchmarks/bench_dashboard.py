"""The dashboard's page over 100,000 traces: the server's time for GET / (target: at most 1 s).

    .venv/bin/python benchmarks/bench_dashboard.py [--requests 20] [--traces 100000]

Reuses the trace store of `bench_rest.py` (built once, cached under the temporary folder):
a real run trading the served account, then `--traces` decisions of another run. Serves the
whole app of `tradegraph serve` (every router, the dashboard included, the rate limit
lifted) under uvicorn on 127.0.0.1, in a process of its own; waits until the decision index
is warm (the server builds it at start), signs in with an admin's key, then times
`--requests` GET / one after another (the full page: every panel read and rendered). Also
times, in this process, the equity chart drawn from all the store's decisions (the served
account has fewer: this is the chart's worst case), thinned to 1,000 points.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.dashboard.charts import equity_series, equity_svg
from api.server.app import create_app
from api.server.routers import service_routers
from api.server.serve import bind, serve_forever, url_of
from benchmarks.bench_rest import ACCOUNT, UNLIMITED, cached_store, settings_for
from core.api_keys import open_api_keys
from core.backends import Storage
from graphs.chat.desk_base import ChatDesk
from graphs.chat.desk_decisions import DecisionReader
from graphs.chat.service import ChatEngine
from memory.decision_index import DecisionFilter

TARGET_S = 1.0


def serve(data: Path, ready: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The server's process: every router of `tradegraph serve` over the store."""
    settings = settings_for(data)
    sock = bind("127.0.0.1", 0)
    with (
        closing(sock),
        ChatEngine(settings, account=ACCOUNT) as engine,
        closing(open_api_keys(Storage(data))) as keys,
    ):
        token = keys.create(f"bench-dash-{time.time_ns()}", "admin").token
        routers = service_routers(engine, keys, rate_limit=UNLIMITED)
        ready.put((url_of(sock), token))
        serve_forever(create_app(engine, keys, routers=routers), sock, log_level="warning")


def chart_seconds(data: Path) -> tuple[int, float]:
    """How many decisions the store holds, and the seconds to draw all of them."""
    reader = DecisionReader(ChatDesk(settings_for(data)))
    try:
        rows = reader.refreshed().equity(DecisionFilter(), limit=10_000_000)
        started = time.perf_counter()
        equity_svg(equity_series(rows), "USDT")
        return len(rows), time.perf_counter() - started
    finally:
        reader.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--traces", type=int, default=100_000)
    args = parser.parse_args()

    data = cached_store(args.traces)
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=serve, args=(data, ready), daemon=True)
    server.start()
    try:
        url, token = ready.get(timeout=120)
        with httpx.Client(base_url=url, timeout=300) as browser:
            started = time.perf_counter()
            total = browser.get(
                "/v1/decisions", params={"limit": 1}, headers={"X-API-Key": token}
            ).json()["total"]
            warm = time.perf_counter() - started
            signed = browser.post("/login", data={"key": token})
            if signed.status_code != 303:
                raise SystemExit(f"sign-in failed: {signed.status_code} {signed.text[:200]}")
            timings = []
            for _ in range(args.requests):
                started = time.perf_counter()
                page = browser.get("/")
                timings.append(time.perf_counter() - started)
                if page.status_code != 200 or 'id="decisions"' not in page.text:
                    raise SystemExit(f"GET /: {page.status_code} {page.text[:200]}")
            size = len(page.content)
    finally:
        server.terminate()
        server.join(10)
    points, drawn = chart_seconds(data)
    p50, worst = statistics.median(timings), max(timings)
    verdict = "meets" if worst <= TARGET_S else "misses"
    print(f"index warm after {warm:.2f} s (server start); {total:,} decisions")
    print(
        f"GET / ({size / 1024:.0f} KiB), {args.requests} requests: first {timings[0] * 1000:.0f}"
        f" ms, p50 {p50 * 1000:.0f} ms, max {worst * 1000:.0f} ms ({verdict} the "
        f"{TARGET_S:g} s target)"
    )
    print(
        f"equity chart of all {points:,} decisions, thinned to 1,000 points: {drawn * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
