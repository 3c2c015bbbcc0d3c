"""What a node knows across its markets at a candle close: the last price of each, and how
their recent closed returns move together (for the correlation cap). Point in time: it is
filled from closed candles only, after every market's candle for the close was appended."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from core.market.history import MarketHistory

CORRELATION_WINDOW = 100
"""Closed returns per market that the correlation is measured over."""


class MarketBook:
    def __init__(self, histories: dict[str, MarketHistory]) -> None:
        self._histories = histories
        self.marks: dict[str, float] = {}

    def mark(self, symbol: str, price: float) -> None:
        self.marks[symbol] = price

    def correlations(self, symbol: str, held: Iterable[str]) -> dict[str, float]:
        """Correlation of `symbol`'s recent closed log returns with each held symbol's (over
        the last `CORRELATION_WINDOW` candles both have); symbols with too little history
        are left out, as the validator treats an unknown correlation as none."""
        mine = self._returns(symbol)
        found: dict[str, float] = {}
        for other in held:
            if other == symbol or other not in self._histories or mine is None:
                continue
            theirs = self._returns(other)
            if theirs is None:
                continue
            n = min(len(mine), len(theirs))
            a, b = mine[-n:], theirs[-n:]
            if n < 3 or a.std() == 0.0 or b.std() == 0.0:
                continue
            found[other] = float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))
        return found

    def _returns(self, symbol: str) -> np.ndarray | None:
        history = self._histories.get(symbol)
        if history is None or len(history) < 3:
            return None
        closes = history.close(CORRELATION_WINDOW + 1)
        return np.diff(np.log(closes))
