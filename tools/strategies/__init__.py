"""The strategies a backtest, a walk-forward, the strategy analyst and the chat can name."""

from __future__ import annotations

from typing import Any

from tools.strategies.base import Strategy
from tools.strategies.ma_crossover import MA_CROSSOVER

STRATEGIES: dict[str, Strategy[Any]] = {s.name: s for s in (MA_CROSSOVER,)}


def get_strategy(name: str) -> Strategy[Any]:
    """The strategy `name`, or a ValueError naming the ones there are."""
    try:
        return STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise ValueError(f"no strategy named {name!r}: choose one of {known}") from None
