"""Candle arrays: the columnar form every market source loads into."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.types import Candle

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CandleSeries:
    """Validated OHLCV columns, strictly increasing `ts` (open time, ms UTC)."""

    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def candle(self, i: int) -> Candle:
        """Row `i` as a Candle (the columns are validated, so the row is not validated again)."""
        return Candle.model_construct(
            ts=int(self.ts[i]),
            open=float(self.open[i]),
            high=float(self.high[i]),
            low=float(self.low[i]),
            close=float(self.close[i]),
            volume=float(self.volume[i]),
        )

    def window(self, start: int, stop: int) -> CandleSeries:
        """Rows [start, stop) as copies, so nothing outside the window stays reachable."""
        return CandleSeries(
            ts=self.ts[start:stop].copy(),
            open=self.open[start:stop].copy(),
            high=self.high[start:stop].copy(),
            low=self.low[start:stop].copy(),
            close=self.close[start:stop].copy(),
            volume=self.volume[start:stop].copy(),
        )
