"""First paint of the dashboard in Chromium over a store of 100,000 traces.

    .venv/bin/python benchmarks/bench_dashboard.py [--navigations 10] [--traces 100000]
        [--screenshot PATH]

The store is benchmarks/bench_rest.py's (its builder, cached under the system's temporary
folder: a real run trading account `bench`, then `--traces` decisions written through the
trace store). `tradegraph serve` runs on it in a process of its own, on a free port of
127.0.0.1 (the hashing embedder the store was written with); an admin's key is made for it.
Once the server answers (the decision index read from the store, timed and printed), Debian's
Chromium, headless and driven by Playwright, logs in through the login form once, then opens
`/` in `--navigations` fresh pages (the session cookie kept). For each it reads the paint
timing the browser itself records (`first-contentful-paint`) and the navigation's
responseStart and domContentLoaded, then prints the median and the maximum of each
(target: first paint at most 1,000 ms). `--screenshot PATH` saves the last page, full.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_rest import ACCOUNT, cached_store, settings_for
from core.api_keys import open_api_keys
from core.backends import Storage

TRADEGRAPH = Path(sys.executable).parent / "tradegraph"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TARGET_FIRST_PAINT_MS = 1_000.0
START_TIMEOUT_S = 300.0
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


def admin_token(data: Path) -> str:
    with closing(open_api_keys(Storage(data))) as keys:
        return keys.create(f"bench-dashboard-{time.time_ns()}", "admin").token


@contextmanager
def serving(data: Path) -> Iterator[str]:
    """`tradegraph serve` on `data` (the served account `bench`) in a process of its own while
    the block runs; the block gets its URL. Ctrl-C (SIGINT) stops it afterwards."""
    settings = settings_for(data)
    command = [
        str(TRADEGRAPH), "serve", "--port", "0", "--data-dir", str(data),
        "--account", ACCOUNT, "--market", settings.market,
    ]  # fmt: skip
    environment = os.environ | {"TRADEGRAPH_MEMORY__EMBEDDING": settings.memory.embedding}
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
    )
    assert server.stdout is not None
    printed: list[str] = []
    try:
        for line in server.stdout:
            printed.append(line)
            if line.startswith("OpenAPI docs at "):
                break
        else:
            raise SystemExit(f"tradegraph serve did not start:\n{''.join(printed)}")
        yield line.split()[3].removesuffix("/docs")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


def wait_until_warm(url: str, token: str) -> tuple[float, int]:
    """Seconds until the server answers a decision read (the index read from the store at
    start), and how many decisions it holds."""
    started = time.perf_counter()
    deadline = started + START_TIMEOUT_S
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        try:
            answer = httpx.get(
                f"{url}/v1/decisions", params={"limit": 1}, headers=headers, timeout=300
            )
            break
        except httpx.TransportError:
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.1)
    answer.raise_for_status()
    return time.perf_counter() - started, int(answer.json()["total"])


def first_paints(
    url: str, token: str, navigations: int, screenshot: Path | None = None
) -> list[dict[str, float]]:
    """Logs in once through the login form, then opens `/` in `navigations` fresh pages; the
    browser's paint and navigation timings of each."""
    from playwright.sync_api import sync_playwright

    timings: list[dict[str, float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
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
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=screenshot, full_page=True)
                page.close()
        finally:
            browser.close()
    return timings


def summary(timings: list[dict[str, float]], name: str) -> tuple[float, float]:
    values = [t[name] for t in timings]
    return statistics.median(values), max(values)


def report(timings: list[dict[str, Any]]) -> None:
    for name, label in (
        ("response_start", "response start (the HTML's first byte)"),
        ("first_contentful_paint", "first contentful paint"),
        ("dom_content_loaded", "DOMContentLoaded end"),
    ):
        median, worst = summary(timings, name)
        print(f"  {label}: median {median:.0f} ms, max {worst:.0f} ms")
    median, worst = summary(timings, "first_contentful_paint")
    verdict = "meets" if worst <= TARGET_FIRST_PAINT_MS else "misses"
    print(f"first paint {verdict} the {TARGET_FIRST_PAINT_MS:,.0f} ms target (max {worst:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--navigations", type=int, default=10)
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} is absent: apt-get install chromium")

    data = cached_store(args.traces)
    token = admin_token(data)
    with serving(data) as url:
        warm, total = wait_until_warm(url, token)
        print(f"server answering with {total:,} decisions {warm:.2f} s after it printed its URL")
        timings = first_paints(url, token, args.navigations, args.screenshot)
    print(f"GET / in Chromium, {args.navigations} fresh navigations after one login:")
    report(timings)
    if args.screenshot is not None:
        print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
