"""Circuit breakers: one small class per breaker, run together by the BreakerBoard."""

from core.types import BreakerEvent
from risk.breakers.admin import RiskStatus, halt_all, list_accounts, resume_all, status_all
from risk.breakers.audit_trail import AuditTrailBreaker
from risk.breakers.base import Breaker, Cycle, Notice, Trip, most_severe
from risk.breakers.board import BreakerBoard
from risk.breakers.daily_loss import DailyLossBreaker
from risk.breakers.drawdown import DrawdownBreaker
from risk.breakers.error_rate import ErrorRateBreaker
from risk.breakers.keys import GLOBAL_KILL_KEY
from risk.breakers.kill_switch import GlobalKillSwitch, KillSwitch
from risk.breakers.llm_budget import BudgetScope, LlmBudgetBreaker
from risk.breakers.loss_streak import LossStreakBreaker
from risk.breakers.registry import AccountBreaker, account_breakers
from risk.breakers.stale_data import StaleDataBreaker

__all__ = [
    "GLOBAL_KILL_KEY",
    "AccountBreaker",
    "AuditTrailBreaker",
    "Breaker",
    "BreakerBoard",
    "BreakerEvent",
    "BudgetScope",
    "Cycle",
    "DailyLossBreaker",
    "DrawdownBreaker",
    "ErrorRateBreaker",
    "GlobalKillSwitch",
    "KillSwitch",
    "LlmBudgetBreaker",
    "LossStreakBreaker",
    "Notice",
    "RiskStatus",
    "StaleDataBreaker",
    "Trip",
    "account_breakers",
    "halt_all",
    "list_accounts",
    "most_severe",
    "resume_all",
    "status_all",
]
