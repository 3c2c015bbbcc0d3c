"""A live run's market: the exchanges of an `exchange:` spec, streamed as candles close.

The run's warm-up (the closed candles `open_market` fetched) fills the node's histories; the
feed then yields from the next candle on, from the first exchange that serves (each exchange's
base URL from the `exchange_urls` setting). A switch of exchange, a fallback from streaming to
polling and a skipped gap reach the next trace as events.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from core.market.exchange import make_exchange, rebase_urls
from core.market.live_feed import ExchangeFeed
from core.market.live_sources import ExchangeSource, parse_exchange_names
from core.types import TraceEvent
from graphs.stopping import StopSignal

if TYPE_CHECKING:
    from graphs.session import SessionPlan


def open_live_feed(
    plan: SessionPlan, on_event: Callable[[TraceEvent], None], stop: StopSignal | None
) -> ExchangeFeed:
    """The live feed of the plan's markets, starting after their warm-up candles."""
    feed = exchange_feed(plan, on_event, (lambda: stop.requested) if stop is not None else None)
    last_warm = max(int(series.ts[-1]) for _, series in plan.markets if len(series))
    feed.start_after(last_warm)
    return feed


def exchange_feed(
    plan: SessionPlan,
    on_event: Callable[[TraceEvent], None],
    stop_when: Callable[[], bool] | None,
) -> ExchangeFeed:
    """The feed of the plan's markets from the exchanges of its `exchange:` spec, in order."""
    import ccxt.pro

    urls = plan.settings.exchange_urls
    sources = [
        ExchangeSource(
            name=name,
            rest=partial(make_exchange, name, urls.get(name)),
            stream=partial(_streaming_exchange, name, urls.get(name))
            if hasattr(ccxt.pro, name)
            else None,
        )
        for name in parse_exchange_names(plan.settings.market)
    ]
    return ExchangeFeed(
        sources,
        [info.symbol for info, _ in plan.markets],
        plan.info.timeframe,
        on_event=on_event,
        stop=stop_when,
    )


def _streaming_exchange(name: str, base_url: str | None) -> Any:
    """A ccxt.pro exchange (built inside the stream's own event loop, which must own it)."""
    import ccxt.pro

    exchange = getattr(ccxt.pro, name)({"enableRateLimit": True})
    return rebase_urls(exchange, base_url) if base_url is not None else exchange
