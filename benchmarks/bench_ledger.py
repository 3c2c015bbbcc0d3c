"""Ledger writes on PostgreSQL against SQLite: fills per second, in the same run.

    .venv/bin/python benchmarks/bench_ledger.py [--fills 5000] [--url postgresql://...]

Each fill is what the paper broker writes for one trade: the pending order (one autocommit
insert) and then its fill with the order's status change (one transaction), through the
`LedgerStore` a run uses. SQLite writes a WAL file in a temporary folder; PostgreSQL is the
server at --url (or TRADEGRAPH_TEST_DATABASE_URL), else a private one started from Debian's
binaries as the tests do, with fsync on (a ledger's durability is what is measured). Prints both
rates and their ratio; the machines are shared, so the ratio is the honest figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.backends import Storage
    from core.types import Fill, Order

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _orders(count: int, tag: str) -> Iterator[tuple[Order, Fill]]:
    from core.types import Fill, Order, OrderType, Side

    for i in range(count):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        order = Order(
            client_order_id=f"{tag}-{i}",
            symbol="SYN/USDT",
            side=side,
            type=OrderType.MARKET,
            quantity=0.01,
            reference_price=100.0,
            created_ms=1_600_000_000_000 + i,
        )
        fill = Fill(
            client_order_id=order.client_order_id,
            symbol="SYN/USDT",
            side=side,
            quantity=0.01,
            price=100.0,
            fee=0.001,
            ts=1_600_000_000_000 + i,
        )
        yield order, fill


def fills_per_second(storage: Storage, count: int, tag: str) -> float:
    """Orders then fills written one trade at a time through the ledger; fills per second."""
    ledger = storage.ledger("bench", 1_000_000.0, run_id=tag)
    trades = list(_orders(count, tag))
    started = time.perf_counter()
    for order, fill in trades:
        assert ledger.record_order(order)
        assert ledger.record_fill(fill)
    seconds = time.perf_counter() - started
    ledger.close()
    return count / seconds


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """A database to write into: `url`, or a new one on a private server."""
    from tests.pg_server import PostgresServer, private_server, server_binaries

    given = url or os.environ.get("TRADEGRAPH_TEST_DATABASE_URL")
    if given:
        server = PostgresServer(given)
        database = server.new_database()
        try:
            yield database
        finally:
            server.drop_database(database)
        return
    binaries = server_binaries()
    if binaries is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql, or pass --url")
    with private_server(binaries, durable=True) as server:
        yield server.new_database()


def main() -> None:
    from core.backends import Storage

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=5000)
    parser.add_argument("--url", default=None, help="a PostgreSQL server (default: a private one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        sqlite_rate = fills_per_second(Storage(Path(tmp)), args.fills, "sqlite")
    with postgres(args.url) as url:
        pg_rate = fills_per_second(Storage(Path("."), url), args.fills, "postgres")
    print(f"ledger writes, {args.fills:,} orders + fills each, one trade per transaction")
    print(f"  SQLite (WAL, synchronous=NORMAL): {sqlite_rate:10,.0f} fills/s")
    print(f"  PostgreSQL (127.0.0.1, fsync on): {pg_rate:10,.0f} fills/s")
    print(f"  PostgreSQL / SQLite: {pg_rate / sqlite_rate:.2f}")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
