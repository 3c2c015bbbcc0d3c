"""The `fake_binance` pytest fixture: a running fake exchange and a ccxt client for it.

Markets come from ccxt's recorded binance markets in ../shared/fixtures (read in place, never
copied into the repository); without them the tests that use the fixture are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_exchange.server import FakeBinance

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "ccxt"
MARKETS_FILE = FIXTURES / "markets" / "binance.json"
CURRENCIES_FILE = FIXTURES / "currencies" / "binance.json"
START_BALANCES = {"USDT": "10000", "BTC": "0.5", "ETH": "0"}


def recorded_markets() -> dict[str, Any]:
    """ccxt's recorded binance markets, or a skip when ../shared/fixtures is absent."""
    if not MARKETS_FILE.is_file():
        pytest.skip(f"{MARKETS_FILE} is absent: the fake exchange takes its markets from it")
    markets: dict[str, Any] = json.loads(MARKETS_FILE.read_text())
    return markets


@pytest.fixture
def fake_binance() -> Iterator[FakeBinance]:
    """A fake Binance spot exchange on 127.0.0.1 holding 10000 USDT and 0.5 BTC, BTC/USDT at
    30000; `fake_binance.ccxt(timeout=...)` makes a real ccxt binance that trades on it."""
    currencies = json.loads(CURRENCIES_FILE.read_text()) if CURRENCIES_FILE.is_file() else {}
    fake = FakeBinance(recorded_markets(), START_BALANCES, currencies=currencies)
    fake.set_price("BTC/USDT", "30000")
    try:
        yield fake
    finally:
        fake.close()
