"""A five-symbol portfolio replay against the same five symbols replayed one by one.

    .venv/bin/python benchmarks/bench_portfolio.py [--market DIR] [--timeframe 1h] [--bars N]

Replays binance-2020-09_2021-10 at 1h as one portfolio (BTC, ETH, SOL, BNB and XRP against
USDT on one account: one cycle per symbol per candle close, through graphs.assembly as every
driver does; offline analyst, memory on), then each symbol alone, each run in a fresh data
directory, all in this process. Prints decisions/s of the portfolio and of the five single
replays together, their ratio, and the bare LangGraph peer of the same shape timed in the same
run (the machines are shared: the ratios are the honest figures).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MARKET = ROOT.parent / "shared" / "markets" / "binance-2020-09_2021-10"
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT")


def replay(market: Path, symbol: str, timeframe: str, bars: int | None) -> tuple[int, float]:
    """(decisions, seconds) of one replay prepared and run the way every driver runs one."""
    from graphs.assembly import RunRequest, prepare_run, run_prepared

    with tempfile.TemporaryDirectory(prefix="bench-portfolio-") as tmp:
        request = RunRequest(
            market=str(market), symbol=symbol, timeframe=timeframe, bars=bars, data_dir=Path(tmp)
        )
        started = time.perf_counter()
        summary = run_prepared(prepare_run(request))
        return summary.decisions, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market", type=Path, default=MARKET)
    parser.add_argument("--timeframe", default="1h")
    parser.add_argument("--bars", type=int, default=None, help="the first N candles only")
    args = parser.parse_args()
    if not args.market.is_dir():
        print(f"skipped: no recordings at {args.market}")
        return
    from benchmarks.langgraph_peer import bare_langgraph_around

    def replays() -> tuple[tuple[int, float], list[tuple[int, float]]]:
        together = replay(args.market, ",".join(SYMBOLS), args.timeframe, args.bars)
        alone = [replay(args.market, symbol, args.timeframe, args.bars) for symbol in SYMBOLS]
        return together, alone

    expected = 2 * len(SYMBOLS) * (args.bars or 9_000)
    bare, (together, alone) = bare_langgraph_around(expected // 2, replays)
    portfolio_rate = together[0] / together[1]
    single_rate = sum(d for d, _ in alone) / sum(s for _, s in alone)
    print(f"market {args.market.name} at {args.timeframe}: {', '.join(SYMBOLS)}")
    print(
        f"portfolio of {len(SYMBOLS)}: {together[0]:,} decisions in {together[1]:.1f} s, "
        f"{portfolio_rate:,.0f} decisions/s"
    )
    for symbol, (decisions, seconds) in zip(SYMBOLS, alone, strict=True):
        print(f"  {symbol} alone: {decisions:,} decisions, {decisions / seconds:,.0f}/s")
    print(f"the {len(SYMBOLS)} single replays together: {single_rate:,.0f} decisions/s")
    print(f"portfolio / single replays: {portfolio_rate / single_rate:.2f}x")
    print(f"bare LangGraph graph of the same shape, same run: {bare:,.0f} invokes/s")
    print(
        f"ratio to the bare graph: {portfolio_rate / bare:.2f}x portfolio, "
        f"{single_rate / bare:.2f}x single replays"
    )


if __name__ == "__main__":
    main()
