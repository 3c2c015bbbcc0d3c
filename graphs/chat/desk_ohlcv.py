"""Candles of a market as the project's market loaders read them, bounded in rows.

The market is the desk's own or a synthetic one: a caller cannot point the server at a file
or an exchange of its choosing (the chat's market tools keep the same rule).
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from core.errors import UserError
from core.market.source import MarketRequest, open_market
from core.types import Candle
from graphs.chat.desk_base import ChatDesk

_SYNTHETIC = re.compile(r"^synthetic(:\d{1,9})?$")


class Ohlcv(BaseModel):
    """Candles oldest first (`ts`: open time, ms UTC); the latest `limit` of the window, and
    how many earlier ones were left out."""

    model_config = ConfigDict(frozen=True)

    market: str
    symbol: str
    timeframe: str
    synthetic: bool
    candles: list[Candle]
    left_out: int


def allowed_market(desk: ChatDesk, market: str | None) -> str:
    """The market to read: the desk's when none is named; a synthetic one; else a UserError."""
    if market is None or market.strip() == desk.market_spec:
        return desk.market_spec
    if _SYNTHETIC.match(market.strip()):
        return market.strip()
    raise UserError(
        f"market {market!r} is not served: use the server's market ({desk.market_spec}) "
        "or synthetic[:SEED]"
    )


def ohlcv(
    desk: ChatDesk,
    *,
    market: str | None,
    symbol: str | None,
    timeframe: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> Ohlcv:
    spec = allowed_market(desk, market)
    info, series = open_market(
        MarketRequest(spec=spec, symbol=symbol, timeframe=timeframe, start=start, end=end)
    )
    first = max(0, len(series) - limit)
    return Ohlcv(
        market=info.source,
        symbol=info.symbol,
        timeframe=info.timeframe,
        synthetic=info.synthetic,
        candles=[
            Candle(
                ts=int(series.ts[i]),
                open=float(series.open[i]),
                high=float(series.high[i]),
                low=float(series.low[i]),
                close=float(series.close[i]),
                volume=float(series.volume[i]),
            )
            for i in range(first, len(series))
        ],
        left_out=first,
    )
