"""Reconciling 1,000 orders with an exchange: the seconds one `reconcile` takes.

    .venv/bin/python benchmarks/bench_reconcile.py [--orders 1000] [--repeat 3]

The exchange is the fake Binance of the tests on 127.0.0.1 (real ccxt signing, building and
parsing over HTTP), with ccxt's recorded Binance markets from ../shared/fixtures. The ledger
holds `--orders` pending limit orders the exchange filled while tradegraph was away (the state
after a crash or a long outage); reconciliation reads them back in bulk (all orders, open
orders, trades: a few paged requests) and records every fill. Placing the orders and filling
them on the fake is set-up, not timed. Target: at most 1 s for 1,000 orders.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_reconcile(orders: int) -> float:
    from core.ledger import Ledger
    from core.types import Order, OrderType, Side
    from tests.fake_exchange.plugin import CURRENCIES_FILE, MARKETS_FILE
    from tests.fake_exchange.server import FakeBinance
    from tools.execution.ccxt_broker import CcxtBroker
    from tools.execution.exchange_calls import RetryPolicy
    from tools.execution.reconcile import reconcile

    markets = json.loads(MARKETS_FILE.read_text())
    currencies = json.loads(CURRENCIES_FILE.read_text()) if CURRENCIES_FILE.is_file() else {}
    fake = FakeBinance(markets, {"USDT": "10000000", "BTC": "0"}, currencies=currencies)
    fake.set_price("BTC/USDT", "30000")
    try:
        with tempfile.TemporaryDirectory() as folder:
            ledger = Ledger(Path(folder) / "ledger.sqlite", "bench", initial_cash=10_000_000.0)
            exchange = fake.ccxt(timeout=5000)
            exchange.enableRateLimit = False  # a local fake: the set-up would take minutes
            broker = CcxtBroker(exchange, ledger, retry=RetryPolicy(deadline_s=10.0))
            now = exchange.milliseconds()
            for i in range(orders):
                order = Order(client_order_id=f"bench-{i}", symbol="BTC/USDT", side=Side.BUY,
                              type=OrderType.LIMIT, quantity=0.001, reference_price=30000.0,
                              limit_price=29000.0, created_ms=now)  # fmt: skip
                ledger.record_order(order)
                exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 29000.0,
                                      {"clientOrderId": order.client_order_id})  # fmt: skip
            fake.set_price("BTC/USDT", "28900")  # every resting buy fills, while "away"
            started = time.perf_counter()
            events = reconcile(broker, ["BTC/USDT"], now)
            seconds = time.perf_counter() - started
            settled = sum(1 for e in events if e.kind == "order_settled")
            if settled != orders or ledger.pending_orders():
                raise SystemExit(f"reconcile settled {settled} of {orders} orders: a bug")
            ledger.close()
            return seconds
    finally:
        fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = [one_reconcile(args.orders) for _ in range(args.repeat)]
    print(f"reconcile {args.orders:,} filled orders against the fake Binance (real ccxt, HTTP):")
    print(f"  runs: {', '.join(f'{t:.3f} s' for t in times)}")
    print(f"  median: {statistics.median(times):.3f} s (target: at most 1 s)")


if __name__ == "__main__":
    main()
