"""The breakers every account runs besides its kill switches: one line each.

A new breaker is a module of its own (a StatefulBreaker with a stored record, or a
PerCycleBreaker decided anew each cycle, saying its name, severity and whether it is a
measure) and one line in `account_breakers`: the board then runs, stores, rebases on resume and
reports it. The kill switches are not listed: they are the board's latch, which every lasting
halt goes through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.types import BreakerLimits
from risk.breakers.audit_trail import AuditTrailBreaker
from risk.breakers.base import PerCycleBreaker, StatefulBreaker
from risk.breakers.daily_loss import DailyLossBreaker
from risk.breakers.drawdown import DrawdownBreaker
from risk.breakers.error_rate import ErrorRateBreaker
from risk.breakers.llm_budget import LlmBudgetBreaker
from risk.breakers.loss_streak import LossStreakBreaker
from risk.breakers.stale_data import StaleDataBreaker

AccountBreaker = StatefulBreaker | PerCycleBreaker
Registry = Callable[[BreakerLimits], Sequence[AccountBreaker]]


def account_breakers(limits: BreakerLimits) -> list[AccountBreaker]:
    """One account's breakers, configured by `limits`. Within a severity, this order is the
    order of their reasons (the board lists the most severe breakers first)."""
    return [
        DrawdownBreaker(limits),
        DailyLossBreaker(limits),
        LossStreakBreaker(limits),
        ErrorRateBreaker(limits),
        LlmBudgetBreaker(),
        StaleDataBreaker(),
        AuditTrailBreaker(limits),
    ]
