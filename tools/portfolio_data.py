"""The closes of several symbols on common candles: what the portfolio optimizers read.

Symbols are aligned by candle open time, keeping only the times every symbol has (an inner
join). Exchange maintenance leaves gaps at about the same times in every pair; a candle missing
in one symbol is dropped for all, so each return still spans the same interval for every
asset (the one after a gap spans more than one candle, for all of them alike).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.market.series import CandleSeries
from core.types import timeframe_seconds
from tools.metrics import YEAR_SECONDS

MIN_SYMBOLS = 2
MAX_SYMBOLS = 50
MIN_CANDLES = 31
"""Thirty returns: fewer give a covariance that is mostly noise, even shrunk."""


@dataclass(frozen=True)
class AlignedCloses:
    """Closes of `symbols` (columns, in that order) at the common open times `ts` (ms, UTC,
    strictly increasing), all of one timeframe."""

    symbols: tuple[str, ...]
    timeframe: str
    ts: npt.NDArray[np.int64]
    closes: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        check_symbols(self.symbols)
        if self.closes.shape != (self.ts.size, len(self.symbols)):
            raise ValueError(
                f"closes have shape {self.closes.shape}: expected ({self.ts.size}, "
                f"{len(self.symbols)}), one row per candle and one column per symbol"
            )
        if self.ts.size > 1 and not np.all(np.diff(self.ts) > 0):
            raise ValueError("candle times must be strictly increasing: sort and deduplicate them")
        if not np.all(np.isfinite(self.closes)) or not np.all(self.closes > 0):
            raise ValueError("every close must be a positive finite price")


def check_symbols(symbols: Sequence[str]) -> None:
    """At least two distinct symbols, at most MAX_SYMBOLS."""
    if len(symbols) < MIN_SYMBOLS:
        raise ValueError(
            f"a portfolio needs at least {MIN_SYMBOLS} symbols, got {len(symbols)}: "
            "list them like BTC/USDT,ETH/USDT"
        )
    if len(symbols) > MAX_SYMBOLS:
        raise ValueError(f"at most {MAX_SYMBOLS} symbols, got {len(symbols)}")
    twice = sorted({s for s in symbols if list(symbols).count(s) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} named more than once: list each symbol once")


def align_closes(series: Mapping[str, CandleSeries], timeframe: str) -> AlignedCloses:
    """The closes of every symbol at the open times they all have."""
    symbols = tuple(series)
    check_symbols(symbols)
    common = series[symbols[0]].ts
    for one in symbols[1:]:
        common = np.intersect1d(common, series[one].ts, assume_unique=True)
    if common.size < MIN_CANDLES:
        raise ValueError(
            f"only {common.size} candles are common to {', '.join(symbols)}: at least "
            f"{MIN_CANDLES} are needed, widen the window or choose symbols traded together"
        )
    columns = [s.close[np.searchsorted(s.ts, common)] for s in series.values()]
    return AlignedCloses(
        symbols=symbols,
        timeframe=timeframe,
        ts=np.asarray(common, dtype=np.int64),
        closes=np.column_stack(columns).astype(np.float64),
    )


def candles_per_year(timeframe: str) -> float:
    """Candles of `timeframe` in a year of 365 days (crypto trades every day)."""
    return YEAR_SECONDS / timeframe_seconds(timeframe)
