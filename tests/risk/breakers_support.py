"""Shared scaffolding for the circuit-breaker tests: markets, boards, a store that counts."""

from __future__ import annotations

from core.types import BreakerLimits, Candle, DataIssue, MarketInfo, MarketSnapshot, TradingState
from risk.breakers import BreakerBoard, BreakerEvent
from risk.store import LockStore, MemoryLockStore

HOUR = 3_600_000
DAY = 24 * HOUR
MIDNIGHT = 1_699_920_000_000  # 2023-11-14T00:00Z
NOW = MIDNIGHT + HOUR
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED

DRAWDOWN_ONLY = BreakerLimits(daily_loss_limit=0.9)
"""Default stages, with the daily loss limit out of the way of a one-day crash."""


def market(*issues: str, now_ms: int = NOW) -> MarketSnapshot:
    return MarketSnapshot(
        info=MarketInfo(source="test", symbol="BTC/USDT", timeframe="1h", synthetic=True),
        now_ms=now_ms,
        last=Candle(ts=now_ms - HOUR, open=100, high=100, low=100, close=100, volume=1),
        bars_seen=100,
        issues=tuple(DataIssue(kind=kind, detail=f"{kind} at bar 99") for kind in issues),
    )


def board(
    store: LockStore | None = None,
    account: str = "paper-1",
    limits: BreakerLimits = DRAWDOWN_ONLY,
) -> BreakerBoard:
    return BreakerBoard(store if store is not None else MemoryLockStore(), account, limits)


def kinds(events: list[BreakerEvent]) -> list[tuple[str, str]]:
    return [(event.kind, event.breaker) for event in events]


class CountingStore(MemoryLockStore):
    """A MemoryLockStore that counts writes, to check the board writes only on change."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: list[str] = []

    def put(self, key: str, value: str) -> None:
        self.puts.append(key)
        super().put(key, value)


class BrokenStore(MemoryLockStore):
    """A store whose reads fail, as a locked or vanished database would."""

    def get(self, key: str) -> str | None:
        raise OSError("disk I/O error")
