"""Market vocabulary: timeframes, candles, the identity of a market and a point-in-time snapshot."""

from __future__ import annotations

import functools
import re
from typing import Final

from pydantic import BaseModel, ConfigDict

from core.errors import UserError
from core.types.risk import InstrumentRules

_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TIMEFRAME_RE: Final = re.compile(r"^(\d+)([smhdw])$")
MAX_TIMEFRAME_SECONDS: Final = 365 * 86400
"""A candle longer than a year is a typo; longer ones would overflow the millisecond times."""


@functools.lru_cache(maxsize=64)
def timeframe_seconds(timeframe: str) -> int:
    """Length of one candle in seconds for a ccxt-style timeframe such as '5m', '1h' or '1d'
    (cached: every cycle asks for its market's period). Of seconds, only Binance's '1s'."""
    match = _TIMEFRAME_RE.match(timeframe)
    if match is None or int(match.group(1)) <= 0 or (match.group(2) == "s" and timeframe != "1s"):
        raise UserError(
            f"unknown timeframe {timeframe!r}: use a ccxt timeframe such as 1m, 5m, 1h, 4h or 1d"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_TIMEFRAME_SECONDS:
        raise UserError(
            f"timeframe {timeframe!r} is longer than a year: use a ccxt timeframe such as 1h or 1d"
        )
    return seconds


class Candle(BaseModel):
    """One OHLCV candle; `ts` is its open time in ms since the epoch (UTC), as ccxt gives it."""

    model_config = ConfigDict(frozen=True)

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class MarketInfo(BaseModel):
    """What market a run trades and where its data comes from."""

    model_config = ConfigDict(frozen=True)

    source: str
    symbol: str
    timeframe: str
    synthetic: bool
    rules: InstrumentRules | None = None
    """The exchange's precision and limits for the symbol, when the source knows them."""

    @property
    def period_ms(self) -> int:
        return timeframe_seconds(self.timeframe) * 1000


class DataIssue(BaseModel):
    """A problem with the data as of now, found by the observe step's data checks."""

    model_config = ConfigDict(frozen=True)

    kind: str
    detail: str


class MarketSnapshot(BaseModel):
    """The market as known at decision time `now_ms` (the close of the `last` candle)."""

    model_config = ConfigDict(frozen=True)

    info: MarketInfo
    now_ms: int
    last: Candle
    bars_seen: int
    issues: tuple[DataIssue, ...] = ()

    @property
    def price(self) -> float:
        """Reference price: the last close, the freshest price known at decision time."""
        return self.last.close

    @property
    def stale(self) -> bool:
        return any(issue.kind == "stale" for issue in self.issues)
