"""Decision time of the offline analyst (`OfflineAnalyst.propose`) on briefs from a real market.

    .venv/bin/python benchmarks/bench_offline.py [--market PATH] [--rounds 5]

Briefs are built the way the cycle builds them: features computed candle by candle with the
project's tools over the market (BTC/USDT 1h 2023 from ../shared/markets by default, the
seeded synthetic:7 market when the recordings are absent), the situation memory recalling the
5 most similar past situations with the personas' returns, the lesson memory recalling the 3
most similar closed trades (with the persona that opened each and its result in ATRs), and a
position held from each BUY to the next SELL or stop. Each round replays every brief, in order,
through a fresh analyst and times each `propose` call; the script prints the median, p99 and
mean per decision, overall and for flat and holding cycles. Target: median at most 1 ms.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.offline import OfflineAnalyst
from core.market.history import MarketHistory, replay
from core.market.source import MarketRequest, open_market
from core.types import Action, Brief, Features, TradingState
from memory.lessons import Lesson, LessonMemory
from memory.situations import SituationMemory
from tools.features import compute_features

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MARKET = ROOT.parent / "shared" / "markets" / "binance-2023" / "BTC_USDT-1h.csv.gz"
RECALL_K = 5
LESSON_K = 3


def build_briefs(spec: str) -> list[Brief]:
    """Every cycle's brief over the market, with recall and a position that follows the
    analyst's own BUYs and SELLs (filled at the close, or at the stop when the candle's low
    crosses it; no broker: only the brief matters). Each closed position leaves a lesson."""
    info, series = open_market(MarketRequest(spec=spec))
    history = MarketHistory(info, capacity=len(series) + 1)
    memory = SituationMemory(None)
    lessons = LessonMemory(None, None)
    analyst = OfflineAnalyst()
    briefs: list[Brief] = []
    quantity = avg = 0.0
    stop: float | None = None
    entry = Features(ts=0, close=0.0, ready=False)
    opener = ""
    for bars, candle in enumerate(replay(series), 1):
        history.append(candle)
        now = candle.ts + info.period_ms
        memory.observe(bars=bars, close=candle.close, low=candle.low, now_ms=now)
        if quantity and stop is not None and candle.low <= stop:
            lessons.add(_lesson(bars, now, info.symbol, entry, opener, stop / avg - 1.0))
            quantity, avg, stop = 0.0, 0.0, None
        features = compute_features(history)
        brief = Brief(
            symbol=info.symbol,
            now_ms=candle.ts + info.period_ms,
            price=candle.close,
            synthetic=info.synthetic,
            timeframe=info.timeframe,
            features=features,
            position_quantity=quantity,
            position_avg_price=avg,
            position_stop=stop,
            cash=10_000.0,
            equity=10_000.0,
            trading_state=TradingState.ACTIVE,
            max_buy_fraction=0.0 if quantity else 0.5,
            min_confidence=0.6,
            recalled=memory.recall(features.vector(), RECALL_K) if features.ready else (),
            lessons=lessons.recall(features.vector(), LESSON_K) if features.ready else (),
        )
        briefs.append(brief)
        result = analyst.propose(brief)
        proposal = result.proposal
        if proposal.action is Action.BUY:
            quantity, avg, stop = 1.0, candle.close, proposal.stop_loss
            entry, opener = features, result.persona
        elif proposal.action is Action.SELL and quantity:
            lessons.add(_lesson(bars, now, info.symbol, entry, opener, candle.close / avg - 1.0))
            quantity, avg, stop = 0.0, 0.0, None
        if features.ready:
            memory.remember(
                id=str(bars),
                ts=candle.ts,
                vector=features.vector(),
                close=candle.close,
                bars=bars,
                stances=result.persona_stances,
            )
    return briefs


def _lesson(bars: int, now: int, symbol: str, entry: Features, persona: str, pnl: float) -> Lesson:
    """The lesson of a closed position as the cycle would write it (the text is not read)."""
    atr_fraction = entry.atr_14 / entry.close if entry.close > 0 else 0.0
    return Lesson(
        id=f"lesson:{bars}",
        written_at=now,
        symbol=symbol,
        text="",
        author="summary",
        pnl_fraction=pnl,
        situation_vector=entry.vector(),
        persona=persona,
        pnl_atr=pnl / atr_fraction if atr_fraction > 0 else 0.0,
    )


def time_decisions(briefs: list[Brief], rounds: int) -> tuple[list[float], list[float]]:
    """Microseconds per `propose` call, flat cycles and holding cycles apart."""
    flat: list[float] = []
    holding: list[float] = []
    clock = time.perf_counter_ns
    gc.collect()
    for _ in range(rounds):
        analyst = OfflineAnalyst()
        for brief in briefs:
            started = clock()
            analyst.propose(brief)
            elapsed = (clock() - started) / 1000.0
            (holding if brief.position_quantity > 0 else flat).append(elapsed)
    return flat, holding


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market", default=None, help="a candle file (default: BTC 2023 1h)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    spec = args.market or (str(DEFAULT_MARKET) if DEFAULT_MARKET.exists() else "synthetic:7")
    started = time.perf_counter()
    briefs = build_briefs(spec)
    built = time.perf_counter() - started
    flat, holding = time_decisions(briefs, args.rounds)
    every = flat + holding
    ready = sum(b.features.ready for b in briefs)
    recalled = sum(bool(b.recalled) for b in briefs)
    with_lessons = sum(bool(b.lessons) for b in briefs)
    rows = [
        ("market", f"{spec} ({len(briefs):,} briefs, {ready:,} with ready features)"),
        ("briefs with recalled situations", f"{recalled:,}"),
        ("briefs with recalled lessons", f"{with_lessons:,}"),
        ("briefs built in (s)", f"{built:.1f}"),
        ("timed decisions", f"{len(every):,} ({args.rounds} rounds)"),
        ("median per decision (us)", f"{statistics.median(every):.1f}"),
        ("p99 per decision (us)", f"{p99(every):.1f}"),
        ("mean per decision (us)", f"{statistics.fmean(every):.1f}"),
        ("median / p99 while flat (us)", f"{statistics.median(flat):.1f} / {p99(flat):.1f}"),
    ]
    if len(holding) > 1:
        rows.append(
            (
                "median / p99 while holding (us)",
                f"{statistics.median(holding):.1f} / {p99(holding):.1f}",
            )
        )
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
