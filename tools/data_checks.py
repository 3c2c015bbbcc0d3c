"""Data checks run at every observe step: is the last candle fresh, contiguous and believable?

Real exchange data has maintenance gaps, flat zero-volume candles and crash candles; the cycle
must notice them before an analyst or the validator trusts the price.
"""

from __future__ import annotations

import numpy as np

from core.market.history import MarketHistory
from core.types import DataIssue

OUTLIER_LOOKBACK = 96
OUTLIER_MIN_MOVE = 0.01
"""A move must also exceed 1% to count as an outlier, so a near-flat market is not alarming."""


def check_data(
    history: MarketHistory, now_ms: int, max_age_periods: float, jump_sigma: float = 8.0
) -> tuple[DataIssue, ...]:
    """Issues with the market as of `now_ms` (empty when the data looks healthy)."""
    period = history.info.period_ms
    ts = history.ts(2)
    last = history.last()
    issues: list[DataIssue] = []
    close_ms = int(ts[-1]) + period
    age = now_ms - close_ms
    if age > max_age_periods * period:
        issues.append(DataIssue(kind="stale", detail=f"last candle closed {age // 1000}s ago"))
    if len(ts) == 2 and ts[1] - ts[0] > period:
        missing = int((ts[1] - ts[0]) // period) - 1
        issues.append(DataIssue(kind="gap", detail=f"{missing} candle(s) missing before this one"))
    if last.volume == 0 and last.high == last.low:
        issues.append(DataIssue(kind="zero_volume", detail="flat candle with zero volume"))
    close = history.close(OUTLIER_LOOKBACK + 1)
    if len(close) > 20:
        returns = np.diff(np.log(close))
        sigma = float(np.std(returns[:-1]))
        move = abs(float(returns[-1]))
        if move > OUTLIER_MIN_MOVE and move > jump_sigma * sigma:
            issues.append(
                DataIssue(
                    kind="outlier",
                    detail=f"close moved {returns[-1]:+.2%} ({move / max(sigma, 1e-12):.1f} sigma)",
                )
            )
    return tuple(issues)
