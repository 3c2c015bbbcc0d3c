"""Latency of `risk.validate` on a realistic book: 10 positions, a full RiskContext (10 marks,
10 correlations, 20 recent orders, 3 open orders) and exchange rules.

    .venv/bin/python benchmarks/bench_validate.py [--calls 50000]
    .venv/bin/pytest benchmarks/bench_validate.py --benchmark-only

The script mode times each call with perf_counter_ns and prints the median and p99 in
microseconds for an approved and a denied proposal; the target is median <= 50 us and
p99 <= 200 us. The pytest mode runs the same approved case under pytest-benchmark.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.types import (
    Action,
    Approved,
    BreakerSnapshot,
    Candle,
    Denied,
    InstrumentRules,
    MarketInfo,
    MarketSnapshot,
    Order,
    OrderType,
    Portfolio,
    Position,
    Proposal,
    RecentOrder,
    RiskContext,
    RiskLimits,
    Side,
    Verdict,
)
from risk.validator import validate

NOW = 1_700_000_000_000
SYMBOL = "BTC/USDT"
BASES = ("BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "AVAX", "DOT", "LINK", "LTC")
TARGET_MEDIAN_US = 50.0
TARGET_P99_US = 200.0


def scenario() -> dict[str, Any]:
    """The inputs of one validate call, approved as they stand."""
    symbols = [f"{base}/USDT" for base in BASES]
    positions = {
        s: Position(symbol=s, quantity=1.0 + i, avg_price=10.0 + i) for i, s in enumerate(symbols)
    }
    market = MarketSnapshot(
        info=MarketInfo(source="bench", symbol=SYMBOL, timeframe="1h", synthetic=True),
        now_ms=NOW,
        last=Candle(ts=NOW - 3_600_000, open=100.0, high=101.0, low=99.0, close=100.0, volume=5.0),
        bars_seen=500,
    )
    context = RiskContext(
        open_orders=tuple(
            Order(
                client_order_id=f"open-{i}",
                symbol=symbols[i + 1],
                side=Side.BUY if i % 2 == 0 else Side.SELL,
                type=OrderType.LIMIT,
                quantity=0.5,
                reference_price=20.0,
                limit_price=19.5,
                created_ms=NOW - 120_000,
            )
            for i in range(3)
        ),
        recent_orders=tuple(
            RecentOrder(
                symbol=symbols[i % 10],
                side=Side.BUY,
                quantity=0.25 + i,
                created_ms=NOW - 1_800_000 * (i + 1),
            )
            for i in range(20)
        ),
        marks={s: 11.0 + i for i, s in enumerate(symbols)},
        volatility=0.6,
        correlations={s: 0.95 - 0.1 * i for i, s in enumerate(symbols[1:])},
        rules=InstrumentRules(
            amount_step=0.0001, price_tick=0.01, min_amount=0.0001, min_notional=5.0
        ),
    )
    limits = RiskLimits(volatility_target=0.5, kelly_fraction=0.5, max_open_positions=12)
    proposal = Proposal(
        action=Action.BUY,
        symbol=SYMBOL,
        size_fraction=0.05,
        order_type=OrderType.LIMIT,
        limit_price=99.5,
        stop_loss=96.0,
        take_profit=110.0,
        confidence=0.8,
        thesis="benchmark",
    )
    return {
        "proposal": proposal,
        "portfolio": Portfolio(cash=20_000.0, positions=positions),
        "market": market,
        "limits": limits,
        "breakers": BreakerSnapshot(),
        "context": context,
    }


def denied_scenario() -> dict[str, Any]:
    """The same book, with a proposal that trips several checks (all collected)."""
    inputs = scenario()
    inputs["proposal"] = inputs["proposal"].model_copy(
        update={"confidence": 0.1, "stop_loss": 80.0, "limit_price": 130.0}
    )
    return inputs


def call(inputs: dict[str, Any]) -> Verdict:
    return validate(
        inputs["proposal"],
        inputs["portfolio"],
        inputs["market"],
        inputs["limits"],
        inputs["breakers"],
        NOW,
        client_order_id="bench-1",
        context=inputs["context"],
    )


def test_validate_ten_positions(benchmark: Any) -> None:
    inputs = scenario()

    verdict = benchmark(call, inputs)

    assert isinstance(verdict, Approved)


def test_validate_ten_positions_denied(benchmark: Any) -> None:
    inputs = denied_scenario()

    verdict = benchmark(call, inputs)

    assert isinstance(verdict, Denied)


def time_calls(inputs: dict[str, Any], calls: int) -> tuple[float, float]:
    """Median and p99 of `calls` timed calls, in microseconds (after a warm-up)."""
    for _ in range(1_000):
        call(inputs)
    samples = [0] * calls
    clock = time.perf_counter_ns
    gc.collect()
    for i in range(calls):
        start = clock()
        call(inputs)
        samples[i] = clock() - start
    samples.sort()
    p99 = samples[min(calls - 1, int(calls * 0.99))]
    return statistics.median(samples) / 1000.0, p99 / 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args()
    ok = True
    for name, inputs, expected in (
        ("approved", scenario(), Approved),
        ("denied", denied_scenario(), Denied),
    ):
        verdict = call(inputs)
        assert isinstance(verdict, expected), verdict
        median, p99 = time_calls(inputs, args.calls)
        within = median <= TARGET_MEDIAN_US and p99 <= TARGET_P99_US
        ok = ok and within
        print(
            f"{name:9s} calls={args.calls} median={median:.1f}us p99={p99:.1f}us "
            f"(target median<={TARGET_MEDIAN_US:.0f}us p99<={TARGET_P99_US:.0f}us) "
            f"{'ok' if within else 'SLOW'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
