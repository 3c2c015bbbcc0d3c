"""The exchanges a live feed may read, in failover order, and the events it reports.

`exchange:binance,okx,bybit` names several ccxt exchanges: the first serves, the next takes over
when it fails. Names are checked here, before any network call, so a typo is one line at start
rather than a failover that can never succeed an hour into a run.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from core.errors import UserError
from core.market.exchange import make_exchange
from core.types import TraceEvent

SPEC_PREFIX: Final = "exchange:"


FeedEvent = TraceEvent
"""Something the operator should see in the trace: a switch of exchange, a fallback from
streaming to REST polling, a skipped gap (`detail` is one readable line)."""


@dataclass(frozen=True)
class ExchangeSource:
    """One exchange: `rest()` builds a ccxt sync exchange; `stream()`, when there is one, builds
    a ccxt.pro exchange (called inside the streaming thread's event loop, which must own it)."""

    name: str
    rest: Callable[[], Any]
    stream: Callable[[], Any] | None = None


def parse_exchange_names(spec: str) -> list[str]:
    """`exchange:binance,okx` (or just `binance,okx`) -> ['binance', 'okx'], each a known ccxt id,
    none empty or repeated."""
    import ccxt

    body = spec.strip()
    if body.startswith(SPEC_PREFIX):
        body = body[len(SPEC_PREFIX) :]
    names = [part.strip().lower() for part in body.split(",")]
    if not body.strip():
        raise UserError("exchange: needs a ccxt exchange id, e.g. exchange:binance or binance,okx")
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            raise UserError(
                f"exchange name {position} in {spec!r} is empty: write e.g. exchange:binance,okx"
            )
        if name in seen:
            raise UserError(f"{name} is named twice in {spec!r}: list each exchange once")
        if name not in ccxt.exchanges:
            close = difflib.get_close_matches(name, ccxt.exchanges, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UserError(
                f"unknown exchange {name!r}{hint}: use ccxt exchange ids such as binance, kraken"
                ' or okx; python -c "import ccxt; print(ccxt.exchanges)" lists them all'
            )
        seen.add(name)
    return names


def exchange_sources(spec: str) -> list[ExchangeSource]:
    """The sources an `exchange:` spec names, streaming through ccxt.pro where it exists."""
    import ccxt.pro

    return [
        ExchangeSource(
            name=name,
            rest=partial(make_exchange, name),
            stream=partial(_pro_exchange, name) if hasattr(ccxt.pro, name) else None,
        )
        for name in parse_exchange_names(spec)
    ]


def _pro_exchange(name: str) -> Any:
    import ccxt.pro

    return getattr(ccxt.pro, name)({"enableRateLimit": True})
