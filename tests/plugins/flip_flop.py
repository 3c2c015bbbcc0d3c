"""An analyst for execution tests: buys when flat and sells when holding, every cycle (a
position worth less than a dollar, the dust an exchange fee in the base coin leaves, is flat).

Loaded by tests as `--analyst tests.plugins.flip_flop:FlipFlopAnalyst`, it makes a live run
send an order on every candle, so the broker's ids, fills and reconciliation get exercised.
"""

from __future__ import annotations

from agents.base import AnalystResult
from core.types import Action, Proposal


class FlipFlopAnalyst:
    name = "flip-flop"

    def propose(self, brief, research=None) -> AnalystResult:
        if brief.position_quantity * brief.price >= 1.0:
            proposal = Proposal(
                action=Action.SELL, symbol=brief.symbol, size_fraction=1.0, confidence=0.9,
                thesis="flip: sell what is held",
            )  # fmt: skip
        else:
            proposal = Proposal(
                action=Action.BUY, symbol=brief.symbol, size_fraction=0.05, confidence=0.9,
                stop_loss=round(brief.price * 0.97, 2), thesis="flop: buy a little",
            )  # fmt: skip
        return AnalystResult(proposal=proposal)
