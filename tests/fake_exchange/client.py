"""Pointing a real ccxt binance at the fake exchange.

`point_at` is separate from the fake so that a process other than the one running the fake (a
broker under test started as a subprocess) can aim its own ccxt object at the fake's URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


def point_at(exchange: Any, base_url: str, markets: Mapping[str, Mapping[str, Any]]) -> Any:
    """Rewrites every API URL of a ccxt binance (the live, `set_sandbox_mode` and demo tables)
    to `base_url` with the same path, and sets the markets so no exchangeInfo call is needed."""
    for table in ("api", "test", "demo"):
        urls = exchange.urls.get(table)
        if isinstance(urls, dict):
            for name, url in urls.items():
                if isinstance(url, str):
                    urls[name] = base_url + urlsplit(url).path
    exchange.set_markets(tick_size_markets(markets))
    return exchange


def tick_size_markets(markets: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The markets as live ccxt binance loads them: precision as tick sizes (the recorded file
    counts decimal places, which ccxt's binance, in TICK_SIZE mode, would misread) and every
    unified key present."""
    converted: dict[str, Any] = {}
    for symbol, market in markets.items():
        filters = {f["filterType"]: f for f in market.get("info", {}).get("filters", [])}
        precision = dict(market.get("precision", {}))
        for name, (kind, key) in {"price": ("PRICE_FILTER", "tickSize"),
                                  "amount": ("LOT_SIZE", "stepSize")}.items():  # fmt: skip
            if key in filters.get(kind, {}):
                precision[name] = float(filters[kind][key])
        for name in ("base", "quote"):
            if isinstance(precision.get(name), int):
                precision[name] = 10.0 ** -precision[name]
        converted[symbol] = {**_UNIFIED_DEFAULTS, **market, "precision": precision}
    return converted


# Keys of ccxt's unified market structure that the recorded file leaves out (live spot values).
_UNIFIED_DEFAULTS: dict[str, Any] = dict.fromkeys(
    ("linear", "inverse", "settle", "settleId", "contractSize", "expiry", "expiryDatetime",
     "strike", "optionType", "created", "subType")
)  # fmt: skip
