"""A moving-average crossover written as an analyst: the harness's parity check.

Long while the fast simple moving average of the closes is above the slow one, flat
otherwise; it buys everything the brief allows and sends no stop. It is the same rule as
`evals.baselines.sma_crossover` and as the backtesting.py strategy the parity test runs, so
the three can be compared trade for trade. As in backtesting.py, the first candle on which the
slow average exists only warms up: the first decision is on the next one. Not a strategy
anyone should trade.
"""

from __future__ import annotations

import numpy as np

from agents.base import AnalystResult, ResearchContext
from core.types import Action, Brief, Proposal

ALL_IN = 0.999


class SmaCrossAnalyst:
    name = "sma-cross"
    deterministic = True
    model = None
    prompt_version = "sma-cross@1"

    def __init__(self, fast: int = 20, slow: int = 50) -> None:
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got fast={fast} slow={slow}")
        self.fast, self.slow = fast, slow

    def propose(self, brief: Brief, research: ResearchContext | None = None) -> AnalystResult:
        if research is None or len(research.history) <= self.slow:
            return self._result(Proposal.hold(brief.symbol, "warming up the moving averages"))
        close = np.asarray(research.history.close(self.slow), dtype=np.float64)
        fast, slow = float(close[-self.fast :].mean()), float(close.mean())
        above = fast > slow
        if above and brief.position_quantity <= 0:
            return self._result(
                Proposal(
                    action=Action.BUY,
                    symbol=brief.symbol,
                    size_fraction=max(0.0, brief.max_buy_fraction * ALL_IN),
                    confidence=0.9,
                    thesis=f"SMA{self.fast} {fast:.6g} above SMA{self.slow} {slow:.6g}",
                )
            )
        if not above and brief.position_quantity > 0:
            return self._result(
                Proposal(
                    action=Action.SELL,
                    symbol=brief.symbol,
                    size_fraction=1.0,
                    confidence=0.9,
                    thesis=f"SMA{self.fast} {fast:.6g} at or below SMA{self.slow} {slow:.6g}",
                )
            )
        return self._result(Proposal.hold(brief.symbol, "no crossover"))

    def _result(self, proposal: Proposal) -> AnalystResult:
        return AnalystResult(proposal=proposal, prompt_version=self.prompt_version)
