"""How the report pages write things: model- and file-derived text made inert, the names and
colours of the curves, and numbers (a sign only where a sign means something)."""

from __future__ import annotations

import html
from datetime import datetime

from core.text import shown

COLOURS = {
    "agent": "#1f5fbf",
    "buy_and_hold": "#888888",
    "sma_crossover": "#d08a1c",
    "cash": "#3a9a5a",
}
LABELS = {
    "agent": "agent",
    "buy_and_hold": "buy & hold",
    "sma_crossover": "SMA 20/50",
    "cash": "cash",
}
MISSING = "n/a"


def escape(text: str) -> str:
    """Text from a model or a file, in the page as data: no control characters, HTML-escaped
    (quotes too, so it is safe inside an attribute)."""
    return html.escape(shown(text))


def ms(iso_time: str) -> int:
    """Milliseconds since the epoch of an ISO time ending in Z."""
    return int(datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp() * 1000)


def signed_pct(value: float | None) -> str:
    """A return or a P&L share: it can go either way, so it carries its sign."""
    if value is None:
        return MISSING
    return f"{value:+.2%}" if value else "0.00%"


def pct(value: float | None) -> str:
    """A size (drawdown, exposure, win rate, fee drag): never signed."""
    return MISSING if value is None else f"{value:.2%}"


def money(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return MISSING
    return f"{value:+,.2f}" if signed and value else f"{value:,.2f}"


def number(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.2f}"


def price(value: float) -> str:
    """A price with the digits it needs (a coin at 0.0001 keeps them)."""
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.6g}"
