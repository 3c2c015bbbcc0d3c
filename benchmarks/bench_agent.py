"""An agent's pulse under load: wake-up latency and memory over a long life.

    .venv/bin/python benchmarks/bench_agent.py latency [--candles 200] [--speed 3600]
    .venv/bin/python benchmarks/bench_agent.py memory [--cycles 10000]

latency: a real agent (APScheduler, checkpointer, writer process, offline analyst) on the
synthetic market played at `--speed`; for each decision, the wall time from the candle's
wake-up (its close plus the configured delay) to the moment its trace was handed over.
Target: at most 1 s at p99 beyond the delay.

memory: the same agent driven by a fake clock as fast as it decides; its resident memory
after 100 cycles and after `--cycles`. Target: no growth beyond 10%.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOUR = 3_600_000


def latency(candles: int, speed: float) -> None:
    from api.scheduler import run_agents
    from graphs.agent.start import AgentRequest, open_agent, prepare_agent

    lags: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        request = AgentRequest(
            name="bench", market="synthetic:7", symbol="SYN/USDT", timeframe="1h",
            bars=candles, speed=speed, data_dir=Path(tmp),
        )  # fmt: skip
        holder: dict = {}

        def on_decision(trace) -> None:
            agent = holder["agent"]
            woke = agent.schedule.wake_at(trace.ts)
            lags.append(time.time() * 1000 - woke)

        with open_agent(prepare_agent(request), on_decision=on_decision) as agent:
            holder["agent"] = agent
            run_agents([agent], threading.Event())
            missed = agent.missed
    lags.sort()
    p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
    print(f"decisions {len(lags)}, missed {missed}, candle every {HOUR / speed:.0f} ms")
    print(
        f"wake-up to trace, beyond the delay: median {statistics.median(lags):.1f} ms, "
        f"p99 {p99:.1f} ms, max {lags[-1]:.1f} ms (target p99 <= 1000 ms)"
    )


def memory(cycles: int) -> None:
    from graphs.agent.start import AgentRequest, open_agent, prepare_agent

    wall = [1e9]
    with tempfile.TemporaryDirectory() as tmp:
        request = AgentRequest(
            name="bench", market="synthetic:7", symbol="SYN/USDT", timeframe="1h",
            bars=cycles + 10, speed=3600.0, data_dir=Path(tmp),
        )  # fmt: skip
        with open_agent(prepare_agent(request), now_ms=lambda: wall[0]) as agent:
            first = agent.identity.first_close_ms
            readings = {}
            started = time.perf_counter()
            for k in range(cycles):
                wall[0] = agent.schedule.wake_at(first + k * HOUR) + 1
                agent.tick()
                if k + 1 in (100, cycles) or (k + 1) % 1000 == 0:
                    readings[k + 1] = _rss_mb()
                    print(f"{k + 1:>6} cycles: {readings[k + 1]:.1f} MB", flush=True)
            seconds = time.perf_counter() - started
    growth = readings[cycles] / readings[100] - 1
    print(
        f"resident memory after 100 cycles {readings[100]:.1f} MB, after {cycles:,} "
        f"{readings[cycles]:.1f} MB: {growth:+.1%} (target at most +10%); "
        f"{cycles / seconds:.0f} wake-ups/s"
    )


def _rss_mb() -> float:
    """The process's current resident set, from /proc (the peak where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--candles", type=int, default=200)
    lat.add_argument("--speed", type=float, default=3600.0)
    mem = sub.add_parser("memory")
    mem.add_argument("--cycles", type=int, default=10_000)
    args = parser.parse_args()
    if args.what == "latency":
        latency(args.candles, args.speed)
    else:
        memory(args.cycles)


if __name__ == "__main__":
    main()
