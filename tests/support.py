"""Builders shared by tests: small markets, histories and briefs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.market.history import MarketHistory
from core.market.series import CandleSeries
from core.types import Candle, MarketInfo

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BTC_2023 = SHARED / "markets" / "binance-2023" / "BTC_USDT-1h.csv.gz"

HOUR_MS = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00Z


def info(symbol: str = "SYN/USDT", timeframe: str = "1h", synthetic: bool = True) -> MarketInfo:
    return MarketInfo(source="test", symbol=symbol, timeframe=timeframe, synthetic=synthetic)


def series_from_closes(closes: list[float] | np.ndarray, *, volume: float = 10.0) -> CandleSeries:
    """Candles whose open is the previous close and whose range brackets both, hourly from T0."""
    close = np.asarray(closes, dtype=np.float64)
    open_ = np.concatenate([[close[0]], close[:-1]])
    return CandleSeries(
        ts=T0 + HOUR_MS * np.arange(len(close), dtype=np.int64),
        open=open_,
        high=np.maximum(open_, close) * 1.001,
        low=np.minimum(open_, close) * 0.999,
        close=close,
        volume=np.full(len(close), volume),
    )


def flat_candles(
    closes: list[float] | np.ndarray, volumes: list[float] | None = None
) -> CandleSeries:
    """Candles that open, trade and close at one price (hourly from T0), so every level a
    test reasons about is exactly that price."""
    close = np.asarray(closes, dtype=np.float64)
    volume = np.full(close.size, 10.0) if volumes is None else np.asarray(volumes, np.float64)
    return CandleSeries(
        ts=T0 + HOUR_MS * np.arange(close.size, dtype=np.int64),
        open=close.copy(),
        high=close.copy(),
        low=close.copy(),
        close=close,
        volume=volume,
    )


def history_of(series: CandleSeries, market: MarketInfo | None = None) -> MarketHistory:
    history = MarketHistory(market or info(), capacity=len(series))
    for i in range(len(series)):
        history.append(series.candle(i))
    return history


def candle(ts: int, price: float, volume: float = 10.0) -> Candle:
    return Candle(
        ts=ts, open=price, high=price * 1.001, low=price * 0.999, close=price, volume=volume
    )


def stored_traces(data_dir: Path, run_id: str) -> list:
    """A run's traces as the store holds them, in chain order."""
    from memory.store import existing_collection, open_chroma
    from memory.traces import load_run

    return load_run(existing_collection(open_chroma(data_dir), "traces", str(data_dir)), run_id)
