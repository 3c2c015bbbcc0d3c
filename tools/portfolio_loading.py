"""Opening a portfolio's symbols from a market (a recording folder, or exchange:NAME), as the
CLI does.

Kept apart from `tools.portfolio_data` so the portfolio's models, and the tools a model may
call on them, never reach a market source and its exchange client: the analysts import the
tool registry, and they may not reach ccxt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.market.source import MarketRequest, normalize_symbol, open_market
from tools.portfolio_data import AlignedCloses, align_closes, check_symbols


def load_aligned_closes(
    market: str,
    symbols: Sequence[str],
    *,
    timeframe: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> AlignedCloses:
    """Open every symbol of `market` (a recording folder, or exchange:NAME) over one window,
    through `open_market` as every command does, and align their closes.

    A market's own errors (unknown symbol, no candles in the window) are its `UserError`s;
    a portfolio's (one symbol, few common candles) are ValueErrors."""
    if market.strip().startswith("synthetic"):
        raise ValueError(
            "the synthetic market is one series whatever the symbol: a portfolio needs a "
            "recording folder (or exchange:NAME) holding several symbols"
        )
    wanted = tuple(normalize_symbol(s) for s in symbols)
    check_symbols(wanted)
    opened = {
        symbol: open_market(
            MarketRequest(spec=market, symbol=symbol, timeframe=timeframe, start=start, end=end)
        )
        for symbol in wanted
    }
    timeframes = {info.timeframe for info, _ in opened.values()}
    if len(timeframes) > 1:
        raise ValueError(
            f"the symbols come in different timeframes ({', '.join(sorted(timeframes))}): "
            "choose one with --timeframe"
        )
    return align_closes({s: series for s, (_, series) in opened.items()}, timeframes.pop())
