"""What a chat turn costs without the model: dispatch, tool, checkpoint and trace.

    .venv/bin/python benchmarks/bench_chat_turn.py [--turns 40] [--data-dir DIR]

Opens a `ChatEngine` on a fresh data directory (SQLite checkpoints, the embedded trace store)
and times, from `send` to the turn's last event, slash turns spaced as a person types them
(the trace is written by the engine's writer thread after the turn, so back-to-back turns
are timed apart): `/help` (no tool: dispatch, checkpoint, trace), `/portfolio` (a ledger read)
and `/risk` (the breaker store). Target: median <= 20 ms. Then `/backtest` over 90 days of
1h candles (2,160 candles: ETH/USDT of ../shared/markets/binance-2023 when it is there, else
the synthetic market), target <= 1 s. Figures in milliseconds, median and p90.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings
from graphs.chat.service import ChatEngine

RECORDING = Path(__file__).resolve().parents[2] / "shared" / "markets" / "binance-2023"
PAUSE_S = 0.15
"""Between two timed turns: a person reads the answer (and the writer thread writes)."""
TARGET_TURN_MS = 20.0
TARGET_BACKTEST_MS = 1000.0


def timed_turns(engine: ChatEngine, text: str, turns: int) -> list[float]:
    """Milliseconds from `send` to the last event of each of `turns` turns of `text`."""
    times = []
    for i in range(turns):
        time.sleep(PAUSE_S)
        started = time.perf_counter()
        events = list(engine.send(f"bench-{i % 4}", text, actor="bench", role="trader"))
        times.append((time.perf_counter() - started) * 1000)
        if events[-1].kind != "answer":
            raise SystemExit(f"{text}: {events[-1].text}")
    return times


def line(name: str, times: list[float], target: float) -> str:
    median = statistics.median(times)
    p90 = statistics.quantiles(times, n=10)[-1]
    verdict = "ok" if median <= target else "ABOVE TARGET"
    return f"{name:<48} median {median:8.2f} ms  p90 {p90:8.2f} ms  target {target:g} ms {verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-chat-"))
    recorded = RECORDING.is_dir()
    market = str(RECORDING) if recorded else "synthetic:7"
    symbol = "ETH/USDT" if recorded else "SYN/USDT"
    settings = Settings(data_dir=root, market=market)
    with ChatEngine(settings) as engine:
        timed_turns(engine, "/help", 3)  # warm: imports, the stores' first writes
        for text in ("/help", "/portfolio", "/risk"):
            print(line(f"{text} turn", timed_turns(engine, text, args.turns), TARGET_TURN_MS))
        backtest = f"/backtest rsi_reversion {symbol} 1h --days 90"
        timed_turns(engine, backtest, 1)
        times = timed_turns(engine, backtest, max(5, args.turns // 4))
        print(line(f"{backtest.split(' --')[0]} (90 days)", times, TARGET_BACKTEST_MS))
    print(f"market {market}; data directory {root}")


if __name__ == "__main__":
    main()
