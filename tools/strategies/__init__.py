"""The strategies a backtest, a walk-forward, the strategy analyst and the chat can name."""

from __future__ import annotations

from typing import Any

from tools.strategies.base import Strategy
from tools.strategies.bollinger import BOLLINGER
from tools.strategies.ma_crossover import MA_CROSSOVER
from tools.strategies.macd_signal import MACD_SIGNAL
from tools.strategies.momentum import MOMENTUM
from tools.strategies.pairs import PAIRS
from tools.strategies.rsi_divergence import RSI_DIVERGENCE
from tools.strategies.stochastic import STOCHASTIC
from tools.strategies.support_resistance_breakout import SUPPORT_RESISTANCE_BREAKOUT
from tools.strategies.volume_profile_breakout import VOLUME_PROFILE_BREAKOUT
from tools.strategies.zscore_reversion import ZSCORE_REVERSION

STRATEGIES: dict[str, Strategy[Any]] = {
    s.name: s
    for s in (
        MA_CROSSOVER,
        ZSCORE_REVERSION,
        MOMENTUM,
        PAIRS,
        BOLLINGER,
        RSI_DIVERGENCE,
        MACD_SIGNAL,
        STOCHASTIC,
        VOLUME_PROFILE_BREAKOUT,
        SUPPORT_RESISTANCE_BREAKOUT,
    )
}


def get_strategy(name: str) -> Strategy[Any]:
    """The strategy `name`, or a ValueError naming the ones there are."""
    try:
        return STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise ValueError(f"no strategy named {name!r}: choose one of {known}") from None
