"""Quant features of a market at decision time, computed from data at or before that time."""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Regime(StrEnum):
    TREND_UP = "trend_up"
    TREND_DOWN = "trend_down"
    RANGE = "range"
    HIGH_VOLATILITY = "high_volatility"
    WARMUP = "warmup"


class Features(BaseModel):
    """Indicator values at `ts`; `ready` is False while there is too little history."""

    model_config = ConfigDict(frozen=True)

    ts: int
    close: float
    ready: bool
    return_1: float = 0.0
    return_24: float = 0.0
    rsi_14: float = 50.0
    ema_fast: float = 0.0
    ema_slow: float = 0.0
    atr_14: float = 0.0
    adx_14: float = 0.0
    macd_hist: float = 0.0
    bb_position: float = 0.5
    volatility: float = 0.0
    volume_z: float = 0.0
    regime: Regime = Regime.WARMUP

    def vector(self) -> list[float]:
        """Fixed 8-dimension embedding of the situation, each dimension scaled to about [-1, 1].

        Dimensions: trend (EMA gap / ATR), momentum (RSI), 1-bar and 24-bar returns in ATR
        units, ADX, MACD histogram in ATR units, Bollinger position, volume z-score.
        """
        atr_rel = self.atr_14 / self.close if self.close > 0 and self.atr_14 > 0 else 1e-9
        gap = (self.ema_fast - self.ema_slow) / self.close if self.close > 0 else 0.0
        raw = [
            gap / atr_rel / 5.0,
            (self.rsi_14 - 50.0) / 50.0,
            self.return_1 / atr_rel / 3.0,
            self.return_24 / atr_rel / 10.0,
            self.adx_14 / 50.0 - 0.5,
            self.macd_hist / max(self.atr_14, 1e-12) / 2.0,
            self.bb_position * 2.0 - 1.0,
            self.volume_z / 3.0,
        ]
        return [max(-1.0, min(1.0, x)) if math.isfinite(x) else 0.0 for x in raw]
