"""A toolbox strategy as an analyst: `--analyst strategy:NAME` runs it through the graph.

At each close it computes the strategy's signal over every closed candle the run has seen (the
same causal function the vectorized backtest trades) and proposes what closes the gap between
the position and the signal: a BUY of everything the brief allows when it wants to be long and
is flat, a SELL of the whole position when it wants to be flat. The validator still sizes,
caps or refuses it like any other proposal, so with limits that allow all in and no stop the
graph trades exactly what `tools.vector_backtest` trades (tests/agents/test_strategy_parity.py).

When the risk settings require a stop-loss, each entry carries one `stop_atr` ATRs below the
close, or nearer when the price collar would refuse that far (a protective stop, not part of
the strategy's rule); a stop that fires is a difference from the vectorized backtest.
"""

from __future__ import annotations

from typing import Any

from agents.base import AnalystResult, ResearchContext
from core.market.series import CandleSeries
from core.types import Action, Brief, Proposal
from tools.strategies import get_strategy
from tools.strategies.base import StrategyParams
from tools.strategies.partner import align_partner

ALL_IN = 0.999
"""Of the largest BUY the brief allows: a hair under, so rounding never asks for more."""

CONFIDENCE = 0.9
"""A rule has no doubt; the minimum-confidence limit should never be what refuses it."""


class StrategyAnalyst:
    deterministic = True
    model = None

    def __init__(
        self,
        strategy: str,
        params: StrategyParams | dict[str, Any] | None = None,
        *,
        stop_atr: float | None = None,
        stop_within: float = 1.0,
        partner: CandleSeries | None = None,
    ) -> None:
        self.strategy = get_strategy(strategy)
        raw = params.model_dump() if isinstance(params, StrategyParams) else (params or {})
        self.params = self.strategy.params.model_validate(raw)
        if self.strategy.needs_partner and partner is None:
            raise ValueError(f"strategy {strategy} needs a partner market")
        self.partner = partner
        self.stop_atr = stop_atr
        self.stop_within = stop_within
        self.name = f"strategy:{self.strategy.name}"
        self.prompt_version = f"{self.name}@1"

    def propose(self, brief: Brief, research: ResearchContext | None = None) -> AnalystResult:
        if research is None or len(research.history) < 2:
            return self._result(Proposal.hold(brief.symbol, "no closed candles yet"))
        candles = research.history.series()
        partner = None
        if self.partner is not None:
            partner = align_partner(candles, self.partner)
        want = bool(self.strategy.want(candles, self.params, partner)[-1])
        held = brief.position_quantity > 0
        rule = f"{self.strategy.name} {self.strategy.description}"
        if want and not held:
            return self._result(self._buy(brief, rule))
        if not want and held:
            return self._result(
                Proposal(
                    action=Action.SELL,
                    symbol=brief.symbol,
                    size_fraction=1.0,
                    confidence=CONFIDENCE,
                    thesis=f"exit: the rule no longer wants a position ({rule})",
                )
            )
        state = "long" if held else "flat"
        return self._result(Proposal.hold(brief.symbol, f"stay {state} ({rule})"))

    def _buy(self, brief: Brief, rule: str) -> Proposal:
        stop = None
        if self.stop_atr is not None:
            atr = brief.features.atr_14
            distance = min(self.stop_atr * atr, self.stop_within * brief.price)
            stop = brief.price - distance
            if atr <= 0 or stop <= 0:
                return Proposal.hold(brief.symbol, "the rule wants in, but ATR cannot place a stop")
        return Proposal(
            action=Action.BUY,
            symbol=brief.symbol,
            size_fraction=max(0.0, brief.max_buy_fraction * ALL_IN),
            stop_loss=stop,
            confidence=CONFIDENCE,
            thesis=f"enter long: the rule wants a position ({rule})",
        )

    def _result(self, proposal: Proposal) -> AnalystResult:
        return AnalystResult(proposal=proposal, prompt_version=self.prompt_version)
