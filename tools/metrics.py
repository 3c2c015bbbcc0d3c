"""Performance metrics of an equity curve."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def max_drawdown(equity: Sequence[float]) -> float:
    """Largest fall from a running peak, as a positive fraction (0.25 means -25%)."""
    curve = np.asarray(equity, dtype=np.float64)
    if curve.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(curve)
    drawdowns = np.where(peaks > 0, 1.0 - curve / peaks, 0.0)
    return float(drawdowns.max())


def total_return(equity: Sequence[float]) -> float:
    if len(equity) == 0 or equity[0] == 0:
        return 0.0
    return float(equity[-1] / equity[0] - 1.0)
