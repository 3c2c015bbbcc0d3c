"""Orchestration overhead of one live paper cycle: from the moment the exchange feed hands a
closed candle over to the moment its trace is written, in milliseconds.

    .venv/bin/python benchmarks/bench_live_cycle.py [--cycles 60] [--memory on|off]

A real `tradegraph run --market exchange:binance --timeframe 1s --broker paper` session, in this
process, against the fake Binance of the tests on 127.0.0.1 revealing a 1s candle every second
(ccxt's recorded markets from ../shared/fixtures). Waiting for the exchange (the candle closing,
the poll that fetches it) is excluded: the clock starts when the feed yields the candle, and
stops when the session reports the cycle, after observe, features, recall, the offline analyst,
the validator and breakers, the paper fill, the ledger and the trace handed to the writer
process (which commits it while the run waits for the next close, as live runs do); the
trace's hand-over is timed on its own too. Target: median at most 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measure(cycles: int, memory: bool) -> list[float]:
    import core.market.live_feed as live_feed
    import memory.traces as traces
    from graphs.assembly import RunRequest, prepare_run, run_prepared
    from tests.fake_exchange.plugin import CURRENCIES_FILE, MARKETS_FILE, START_BALANCES
    from tests.fake_exchange.realtime import play_in_real_time
    from tests.fake_exchange.server import FakeBinance

    handed_over: list[float] = []
    nodes: list[dict[str, float]] = []
    writing: list[float] = []
    reported: list[float] = []
    closes = live_feed.ExchangeFeed.closes

    def timed_closes(self):  # type: ignore[no-untyped-def]
        for close in closes(self):
            handed_over.append(time.perf_counter())
            yield close

    def on_cycle(trace, position) -> None:  # type: ignore[no-untyped-def]
        reported.append(time.perf_counter())
        nodes.append(dict(trace.latency_ms))
        if len(reported) == cycles:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the session stops after this cycle

    append = traces.TraceStore.append

    def timed_append(self, trace):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return append(self, trace)
        finally:
            writing.append(time.perf_counter() - started)

    live_feed.ExchangeFeed.closes = timed_closes  # type: ignore[method-assign]
    traces.TraceStore.append = timed_append  # type: ignore[method-assign]
    markets = json.loads(MARKETS_FILE.read_text())
    currencies = json.loads(CURRENCIES_FILE.read_text()) if CURRENCIES_FILE.is_file() else {}
    fake = FakeBinance(markets, START_BALANCES, currencies=currencies)
    candles = play_in_real_time(fake, "BTC/USDT", interval="1s")
    os.environ["TRADEGRAPH_EXCHANGE_URLS"] = json.dumps({"binance": fake.url})
    try:
        with tempfile.TemporaryDirectory() as folder:
            request = RunRequest(
                market="exchange:binance", symbol="BTC/USDT", timeframe="1s", realtime=True,
                data_dir=Path(folder), memory=memory, analyst="offline",
            )  # fmt: skip
            run_prepared(prepare_run(request), on_cycle=on_cycle, stop_on_interrupt=True)
    finally:
        candles.stop()
        fake.close()
        live_feed.ExchangeFeed.closes = closes  # type: ignore[method-assign]
        traces.TraceStore.append = append  # type: ignore[method-assign]
    for name in nodes[-1]:
        print(f"  {name}: median {statistics.median(n.get(name, 0.0) for n in nodes[5:]):.2f} ms")
    cycles_ms = [(b - a) * 1000 for a, b in zip(handed_over, reported, strict=False)]
    return cycles_ms, [w * 1000 for w in writing]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--memory", choices=("on", "off"), default="on")
    args = parser.parse_args()
    overheads, writes = measure(args.cycles, args.memory == "on")
    steady = overheads[5:]  # the first closes catch up on the warm-up's tail
    deciding = [total - write for total, write in zip(steady, writes[5:], strict=False)]
    print(f"live paper cycle, memory {args.memory}, {len(steady)} cycles after 5 warm-up ones:")
    for label, values in (
        ("whole cycle (feed hand-over to trace queued)", steady),
        ("  of which sealing and queueing the trace", writes[5:]),
        ("  the decision without the trace", deciding),
    ):
        q = statistics.quantiles(values, n=20)
        print(
            f"  {label}: median {statistics.median(values):.2f} ms, p95 {q[18]:.2f} ms, "
            f"max {max(values):.2f} ms"
        )
    print("  target: median <= 5 ms")


if __name__ == "__main__":
    main()
