"""The dashboard over 100,000 traces: the server's time for GET / and the first paint in
Chromium (target: first paint at most 1 s).

    .venv/bin/python benchmarks/bench_dashboard.py [--requests 20] [--navigations 10]
        [--traces 100000] [--screenshot PATH]

Reuses the trace store of `bench_rest.py` (`rest_store`; built once, cached under the
temporary folder): a real run trading the served account, then `--traces` decisions of
another run. Serves the
whole app of `tradegraph serve` (every router, the dashboard included, the rate limit
lifted) under uvicorn on 127.0.0.1, in a process of its own, and waits until the decision
index is warm (the server builds it at start). Then:
- the server's time: signs in with an admin's key over httpx and times `--requests` GET /
  one after another (the full page: every panel read and rendered);
- the browser's: Debian's Chromium, headless, driven by Playwright, signs in through the
  login form once, then opens / in `--navigations` fresh pages (the session cookie kept) and
  reads the timings the browser itself records: first-contentful-paint, the navigation's
  responseStart and domContentLoaded; `--screenshot PATH` saves the last page, full;
- in this process, the equity chart drawn from all the store's decisions (the served account
  has fewer: this is the chart's worst case), thinned to 1,000 points.
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.dashboard.charts import equity_series, equity_svg
from benchmarks.rest_store import cached_store, serve, settings_for
from graphs.chat.desk_base import ChatDesk
from graphs.chat.desk_decisions import DecisionReader
from memory.decision_index import DecisionFilter
from tests.chromium import CHROMIUM, launch_chromium

TARGET_S = 1.0
PAINT_TIMINGS = """() => new Promise((resolve) => {
    const navigation = performance.getEntriesByType('navigation')[0];
    const done = (paint) => resolve({
        first_contentful_paint: paint.startTime,
        response_start: navigation.responseStart,
        dom_content_loaded: navigation.domContentLoadedEventEnd,
    });
    const [painted] = performance.getEntriesByName('first-contentful-paint');
    if (painted) { done(painted); return; }
    new PerformanceObserver((list, observer) => {
        const [paint] = list.getEntriesByName('first-contentful-paint');
        if (paint) { observer.disconnect(); done(paint); }
    }).observe({type: 'paint', buffered: true});
})"""
"""The browser's own figures for the page just loaded, in ms from the navigation's start."""


@contextmanager
def served(data: Path) -> Iterator[tuple[str, str]]:
    """The server's process on `data` while the block runs: its URL and an admin's token."""
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=serve, args=(data, ready, True), daemon=True)
    server.start()
    try:
        yield started_server(server, ready)
    finally:
        server.terminate()
        server.join(10)


def started_server(
    server: multiprocessing.process.BaseProcess,
    ready: multiprocessing.Queue,  # type: ignore[type-arg]
) -> tuple[str, str]:
    """The server's URL and key once it listens; exits saying so if its process ended."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            url, token = ready.get(timeout=1)
            return str(url), str(token)
        except queue.Empty:
            if not server.is_alive():
                raise SystemExit(
                    "the server's process ended before it listened (its error is above: "
                    "another process serving the same store holds its writer lock?)"
                ) from None
    raise SystemExit("the server did not listen within 120 s")


def warm_seconds(url: str, token: str) -> tuple[float, int]:
    """Seconds until a decision read is answered (the index built at start), and how many
    decisions the store holds."""
    started = time.perf_counter()
    answer = httpx.get(
        f"{url}/v1/decisions", params={"limit": 1}, headers={"X-API-Key": token}, timeout=300
    )
    answer.raise_for_status()
    return time.perf_counter() - started, int(answer.json()["total"])


def server_times(url: str, token: str, requests: int) -> tuple[list[float], int]:
    """Seconds of each GET / after one sign-in over httpx, and the page's size in bytes."""
    with httpx.Client(base_url=url, timeout=300) as client:
        signed = client.post("/login", data={"key": token})
        if signed.status_code != 303:
            raise SystemExit(f"sign-in failed: {signed.status_code} {signed.text[:200]}")
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            page = client.get("/")
            timings.append(time.perf_counter() - started)
            if page.status_code != 200 or 'id="decisions"' not in page.text:
                raise SystemExit(f"GET /: {page.status_code} {page.text[:200]}")
    return timings, len(page.content)


def first_paints(
    url: str, token: str, navigations: int, screenshot: Path | None = None
) -> list[dict[str, float]]:
    """Signs in through the login form once, then opens / in `navigations` fresh pages; the
    browser's paint and navigation timings of each, in ms."""
    from playwright.sync_api import sync_playwright

    timings: list[dict[str, float]] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            login = context.new_page()
            login.goto(f"{url}/")
            login.fill("#login input[name=key]", token)
            login.click("#login [type=submit]")
            login.wait_for_selector("#whoami", timeout=60_000)
            login.close()
            for turn in range(navigations):
                page = context.new_page()
                page.goto(f"{url}/", wait_until="load")
                timings.append(page.evaluate(PAINT_TIMINGS))
                if screenshot is not None and turn == navigations - 1:
                    page.screenshot(path=screenshot, full_page=True)
                page.close()
        finally:
            browser.close()
    return timings


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


def print_paints(timings: list[dict[str, float]]) -> None:
    for name, label in (
        ("response_start", "response start (the HTML's first byte)"),
        ("first_contentful_paint", "first contentful paint"),
        ("dom_content_loaded", "DOMContentLoaded end"),
    ):
        values = [timing[name] for timing in timings]
        print(f"  {label}: median {statistics.median(values):.0f} ms, max {max(values):.0f} ms")
    worst = max(timing["first_contentful_paint"] for timing in timings)
    verdict = "meets" if worst <= TARGET_S * 1000 else "misses"
    print(f"  first paint {verdict} the {TARGET_S:g} s target (max {worst:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--navigations", type=int, default=10)
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} is absent: apt-get install chromium")

    data = cached_store(args.traces)
    with served(data) as (url, token):
        warm, total = warm_seconds(url, token)
        timings, size = server_times(url, token, args.requests)
        paints = first_paints(url, token, args.navigations, args.screenshot)
    points, drawn = chart_seconds(data)
    p50, worst = statistics.median(timings), max(timings)
    verdict = "meets" if worst <= TARGET_S else "misses"
    print(f"index warm after {warm:.2f} s (server start); {total:,} decisions")
    print(
        f"GET / ({size / 1024:.0f} KiB), {args.requests} requests: first {timings[0] * 1000:.0f}"
        f" ms, p50 {p50 * 1000:.0f} ms, max {worst * 1000:.0f} ms ({verdict} the "
        f"{TARGET_S:g} s target)"
    )
    print(f"GET / in Chromium, {args.navigations} fresh navigations after one sign-in:")
    print_paints(paints)
    print(
        f"equity chart of all {points:,} decisions, thinned to 1,000 points: {drawn * 1000:.0f} ms"
    )
    if args.screenshot is not None:
        print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
