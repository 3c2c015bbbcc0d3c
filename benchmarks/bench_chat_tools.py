"""Time of the chat's tool calls through the desk's registry (`graphs.chat.desk`).

    .venv/bin/python benchmarks/bench_chat_tools.py [--market PATH] [--rounds 7]

First a short real run (a paper replay of 600 synthetic candles with the stress analyst, on a
named account, memory on) fills a temporary data directory, as a chat would find one. Then
each tool is called `--rounds` times through `call_tool`, and the median is printed: a 90-day
1h `backtest_strategy` on the market (BTC/USDT 1h 2023 from ../shared/markets by default, the
synthetic market when the recordings are absent; target: at most 1 s), and every other desk
tool on that data directory. `run_eval` is timed on 10 days of 1h candles (answered at once:
its process's start is in the figure) and `validate_proposal` beside the tools.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.stress import StressAnalyst
from core.market.source import MarketRequest, open_market
from core.settings import Settings
from graphs.chat.desk import ChatDesk, TradeIdea, call_tool, chat_registry, validate_proposal
from graphs.session import SessionPlan, run_session

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MARKET = ROOT.parent / "shared" / "markets" / "binance-2023" / "BTC_USDT-1h.csv.gz"
TARGET_BACKTEST_S = 1.0


def fill_data_dir(data: Path) -> Settings:
    """A data directory as a real run leaves it: ledger, breakers, traces, memory."""
    settings = Settings(data_dir=data, market="synthetic:5", memory={"embedding": "hashing"})
    info, series = open_market(MarketRequest(spec="synthetic:5", bars=600))
    plan = SessionPlan(
        run_id="bench-run", info=info, series=series, settings=settings, data_dir=data,
        account="bench",
    )  # fmt: skip
    run_session(plan, StressAnalyst())
    return settings


def median_s(call: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def tool_calls() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("list_strategies", {}),
        ("indicator", {"name": "rsi", "days": 90, "last": 50}),
        ("tail_risk", {"days": 90}),
        ("levels", {"days": 90}),
        ("why", {"ref": "bench-run:300"}),
        ("search_decisions", {"text": "stop-loss hit", "limit": 5}),
        ("memory_search", {"text": "oversold bounce in a range", "limit": 5}),
        ("risk_status", {}),
        ("portfolio", {}),
        ("orders_and_fills", {"limit": 20}),
        ("list_agents", {}),
        ("decide_now", {"symbol": "SYN/USDT"}),
        ("eval_job_status", {}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--market", default=str(DEFAULT_MARKET))
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    market = args.market if Path(args.market).exists() else "synthetic:7"
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as folder:
        data = Path(folder)
        started = time.perf_counter()
        settings = fill_data_dir(data)
        print(f"data directory filled by a 600-candle run in {time.perf_counter() - started:.1f} s")
        on_market = chat_registry(ChatDesk(settings, account="bench", market=market))
        desk = ChatDesk(settings, account="bench")
        registry = chat_registry(desk)
        backtest = {"strategy": "zscore_reversion", "timeframe": "1h", "days": 90}
        first = call_tool(on_market, "backtest_strategy", backtest)
        if not first.ok:
            raise SystemExit(f"backtest_strategy failed: {first.error}")
        took = median_s(lambda: call_tool(on_market, "backtest_strategy", backtest), args.rounds)
        verdict = "met" if took <= TARGET_BACKTEST_S else "NOT met"
        print(
            f"backtest_strategy, 90 days of 1h candles ({first.result['candles']:,} of {market}): "
            f"median {took * 1000:.1f} ms over {args.rounds} calls "
            f"(target at most {TARGET_BACKTEST_S:g} s: {verdict})"
        )
        for name, payload in tool_calls():
            outcome = call_tool(registry, name, payload)
            status = "" if outcome.ok else f"  (error: {outcome.error})"
            took = median_s(lambda: call_tool(registry, name, payload), args.rounds)  # noqa: B023
            print(f"{name:<18} median {took * 1000:8.1f} ms{status}")
        price = float(open_market(MarketRequest(spec="synthetic:5"))[1].close[-1])
        idea = TradeIdea(symbol="SYN/USDT", side="buy", quantity=1.0, stop_price=price * 0.97)
        took = median_s(
            lambda: validate_proposal(desk, idea, thread="bench", approval_id="a", ttl_s=60),
            args.rounds,
        )
        print(f"{'validate_proposal':<18} median {took * 1000:8.1f} ms")
        took = median_s(lambda: call_tool(registry, "run_eval", {"days": 10}), 1)
        print(f"{'run_eval (240 c.)':<18} once   {took * 1000:8.1f} ms (a process of its own)")


if __name__ == "__main__":
    main()
