"""What notifications cost the trading thread, with the one channel's receiver down.

    .venv/bin/python benchmarks/bench_notify.py [--calls 20000] [--bars 500]

Prints the median and p99 of `notify()` (queueing a notice while the sender thread retries a
closed port on 127.0.0.1), then the wall time of a paper run of `--bars` synthetic candles
with the stress analyst (after a warm-up run) without notifications and with every fill and
trip sent to that receiver, and both runs' orders and final equity (which must be equal).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.stress import StressAnalyst
from core.market.synthetic import generate_synthetic
from core.notifications import Notice, Notifier
from core.notify_settings import ChannelSettings, NotifySettings
from core.settings import Settings
from core.types import MarketInfo
from graphs.session import SessionPlan, run_session
from graphs.summary import RunSummary
from tools.notify import open_notifications


def down_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"


def down_settings() -> NotifySettings:
    channel = ChannelSettings(name="down", kind="webhook", url=down_url())
    return NotifySettings(channels=(channel,), close_timeout_seconds=0.0)


def notify_latency(calls: int) -> tuple[float, float]:
    """Median and p99 of one notify() call, in microseconds."""
    notice = Notice(event="fill", severity="info", title="Fill", text="bench", ts_ms=0)
    samples = []
    with open_notifications(down_settings(), {}) as notifier:
        for _ in range(calls):
            started = time.perf_counter_ns()
            notifier.notify(notice)
            samples.append((time.perf_counter_ns() - started) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def timed_run(bars: int, notifier: Notifier | None) -> tuple[float, RunSummary]:
    folder = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    plan = SessionPlan(
        run_id="bench",
        info=MarketInfo(source="synthetic:11", symbol="SYN/USDT", timeframe="1h", synthetic=True),
        series=generate_synthetic(11, bars=bars),
        settings=Settings(),
        data_dir=folder,
    )
    started = time.perf_counter()
    summary = run_session(plan, StressAnalyst(), notifier=notifier)
    return time.perf_counter() - started, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--bars", type=int, default=500)
    args = parser.parse_args()
    median, p99 = notify_latency(args.calls)
    print(f"notify() with the receiver down: median {median:.1f} us, p99 {p99:.1f} us")
    timed_run(args.bars, None)  # warm-up: the first run pays for the imports and the models
    plain_seconds, plain = timed_run(args.bars, None)
    with open_notifications(down_settings(), {}) as notifier:
        told_seconds, told = timed_run(args.bars, notifier)
    for name, seconds, summary in (("without", plain_seconds, plain), ("with", told_seconds, told)):
        print(
            f"{args.bars}-bar paper run {name} notifications: {seconds:.2f} s, "
            f"{summary.orders} orders, {summary.fills} fills, equity {summary.equity_final:,.2f}"
        )


if __name__ == "__main__":
    main()
