"""`tradegraph` with ccxt's binance answering from recordings instead of the internet.

Runs the real command line (`api.cli.main`) on the arguments given. `exchange:binance` gets a
real ccxt binance object whose markets are ccxt's recorded binance markets
(../shared/fixtures/ccxt/markets/binance.json), whose clock stands just after the last candle of
2023, and whose HTTP layer answers kline requests from the recorded BTC/USDT 1h candles of 2023
(../shared/markets/binance-2023), paged the way Binance pages them (from `startTime`, at most
`limit`). ccxt builds the real requests and parses the answers as it does online, so the README's
live-exchange commands (`run --market exchange:binance`, `record --exchange binance`) run
unchanged where no exchange can be reached:

    python tests/offline_binance.py run --market exchange:binance --symbol BTC/USDT \\
        --timeframe 1h --bars 500

With OFFLINE_BINANCE_DUPLICATES=1 in the environment, every page repeats its first candle, as
exchanges sometimes send a candle twice, to test that duplicates go.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared"
MARKETS_FILE = SHARED / "fixtures" / "ccxt" / "markets" / "binance.json"
CANDLES_FILE = SHARED / "markets" / "binance-2023" / "BTC_USDT-1h.csv.gz"
SERVED = ("BTCUSDT", "1h")
HOUR_MS = 3_600_000
DUPLICATES = "OFFLINE_BINANCE_DUPLICATES"


def recorded_klines() -> list[list[Any]]:
    """The recorded candles in Binance's raw kline layout (open time first, prices as text)."""
    from core.market.source import MarketRequest, open_market

    _, series = open_market(MarketRequest(spec=str(CANDLES_FILE)))
    return [
        [int(ts), repr(float(o)), repr(float(h)), repr(float(lo)), repr(float(c)),
         repr(float(v)), int(ts) + HOUR_MS - 1, "0", 0, "0", "0", "0"]
        for ts, o, h, lo, c, v in zip(
            series.ts, series.open, series.high, series.low, series.close, series.volume,
            strict=True,
        )
    ]  # fmt: skip


def offline_binance(name: str, base_url: str | None = None, **config: Any) -> Any:
    """Stands in for `make_exchange`: only binance, answering from the recordings."""
    import ccxt

    if name.strip().lower() != "binance":
        raise SystemExit(f"offline_binance.py serves exchange:binance only, not {name!r}")
    rows = recorded_klines()
    exchange = ccxt.binance({"enableRateLimit": False})  # the throttler reads the frozen clock
    exchange.set_markets(json.loads(MARKETS_FILE.read_text()))
    exchange.milliseconds = lambda: rows[-1][0] + HOUR_MS + 1_000

    def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        if (query.get("symbol"), query.get("interval")) != SERVED:
            return []
        since = int(query.get("startTime", 0))
        page = [row for row in rows if row[0] >= since][: int(query["limit"])]
        if page and os.environ.get(DUPLICATES) == "1":
            page = [page[0], *page]  # ccxt keeps `limit` rows: the last comes on the next page
        return page

    exchange.fetch = fetch
    return exchange


def main() -> None:
    import core.market.exchange
    import core.market.recorder
    import core.market.source
    from api.cli import main as tradegraph

    core.market.exchange.make_exchange = offline_binance  # type: ignore[assignment]
    core.market.source.make_exchange = offline_binance  # type: ignore[attr-defined]
    core.market.recorder.make_exchange = offline_binance  # type: ignore[attr-defined]
    sys.argv = ["tradegraph", *sys.argv[1:]]
    tradegraph()


if __name__ == "__main__":
    main()
