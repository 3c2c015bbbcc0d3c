"""A pairs strategy's partner market, lined up candle for candle with the traded one."""

from __future__ import annotations

import numpy as np

from core.market.series import CandleSeries


def align_partner(traded: CandleSeries, partner: CandleSeries) -> CandleSeries:
    """The partner's candles as of each traded candle: its latest candle opened at or before
    that candle's open (an as-of join, so nothing later is read; NaN before its first one)."""
    at = np.searchsorted(partner.ts, traded.ts, side="right") - 1
    known = at >= 0
    take = np.where(known, at, 0)

    def column(values: np.ndarray) -> np.ndarray:
        return np.where(known, values[take], np.nan)

    return CandleSeries(
        ts=traded.ts.copy(),
        open=column(partner.open),
        high=column(partner.high),
        low=column(partner.low),
        close=column(partner.close),
        volume=column(partner.volume),
    )
