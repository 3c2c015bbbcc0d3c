"""Features at decision time, computed from the closed candles in the history and nothing else."""

from __future__ import annotations

import math

import numpy as np

from core.market.history import MarketHistory
from core.types import Features, timeframe_seconds
from tools.indicators import MIN_BARS, WINDOW, compute_indicators
from tools.regime import classify_regime

VOL_LOOKBACK = 48
SECONDS_PER_YEAR = 365 * 86400


def compute_features(history: MarketHistory) -> Features:
    """Indicators, returns, volatility and regime as of the last closed candle."""
    close = history.close(WINDOW)
    last_close = float(close[-1])
    ts = int(history.ts(1)[0])
    if len(close) < MIN_BARS:
        return Features(ts=ts, close=last_close, ready=False)
    high, low, volume = history.high(WINDOW), history.low(WINDOW), history.volume(WINDOW)
    ind = compute_indicators(high, low, close)
    log_returns = np.diff(np.log(close))
    bars_per_year = SECONDS_PER_YEAR / timeframe_seconds(history.info.timeframe)
    vol = float(np.std(log_returns[-VOL_LOOKBACK:])) * math.sqrt(bars_per_year)
    rolling = np.lib.stride_tricks.sliding_window_view(log_returns, VOL_LOOKBACK)
    median_vol = float(np.median(rolling.std(axis=1))) * math.sqrt(bars_per_year)
    recent_volume = volume[-VOL_LOOKBACK:]
    vol_std = float(np.std(recent_volume))
    volume_z = (float(volume[-1]) - float(np.mean(recent_volume))) / vol_std if vol_std > 0 else 0.0
    band = ind.bb_upper - ind.bb_lower
    return Features(
        ts=ts,
        close=last_close,
        ready=True,
        return_1=float(close[-1] / close[-2] - 1.0),
        return_24=float(close[-1] / close[-25] - 1.0),
        rsi_14=ind.rsi_14,
        ema_fast=ind.ema_fast,
        ema_slow=ind.ema_slow,
        atr_14=ind.atr_14,
        adx_14=ind.adx_14,
        macd_hist=ind.macd_hist,
        bb_position=float((last_close - ind.bb_lower) / band) if band > 0 else 0.5,
        volatility=vol,
        volume_z=volume_z,
        regime=classify_regime(
            adx=ind.adx_14,
            ema_fast=ind.ema_fast,
            ema_slow=ind.ema_slow,
            volatility=vol,
            median_volatility=median_vol,
        ),
    )
