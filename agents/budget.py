"""What the Claude analyst may spend: token and dollar limits per run and per UTC day.

The day's spend is kept in a state store (SQLite in the data directory), so a restart on the
same day carries on counting; the run's spend lives with the analyst. The check runs before
every request, so a budget is never exceeded by more than the one request that crossed it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from agents.base import BudgetStop, LlmUsage
from core.backends import StateStore
from core.settings import LlmBudget, ModelPrice


def request_cost(usage: LlmUsage, price: ModelPrice) -> float:
    """USD for the tokens of `usage` at `price` (per million tokens)."""
    return (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_creation_tokens * price.cache_write
        + usage.cache_read_tokens * price.cache_read
    ) / 1_000_000


def utc_today() -> str:
    return datetime.now(UTC).date().isoformat()


class SpendLedger:
    """Running totals for this run and today; `stop()` says whether another request may go."""

    def __init__(
        self,
        limits: LlmBudget,
        store: StateStore | None = None,
        *,
        today: Callable[[], str] = utc_today,
    ) -> None:
        self.limits = limits
        self._store = store
        self._today = today
        self.run = LlmUsage()
        self._day = ""
        self._day_tokens = 0
        self._day_usd = 0.0

    def add(self, usage: LlmUsage) -> None:
        self._roll_day()
        self.run += usage
        self._day_tokens += usage.tokens
        self._day_usd += usage.cost_usd
        if self._store is not None:
            self._store.put(
                self._key(), json.dumps({"tokens": self._day_tokens, "usd": self._day_usd})
            )

    def stop(self) -> BudgetStop | None:
        """The budget that is spent, run limits first; None while every limit has room."""
        self._roll_day()
        lim = self.limits
        if lim.run_tokens is not None and self.run.tokens >= lim.run_tokens:
            return BudgetStop(
                scope="run",
                reason=f"LLM run budget spent: {self.run.tokens:,} of {lim.run_tokens:,} tokens",
            )
        if lim.run_usd is not None and self.run.cost_usd >= lim.run_usd:
            return BudgetStop(
                scope="run",
                reason=f"LLM run budget spent: ${self.run.cost_usd:.4f} of ${lim.run_usd:.2f}",
            )
        if lim.day_tokens is not None and self._day_tokens >= lim.day_tokens:
            return BudgetStop(
                scope="day",
                reason=(
                    f"LLM budget for {self._day} spent: "
                    f"{self._day_tokens:,} of {lim.day_tokens:,} tokens"
                ),
            )
        if lim.day_usd is not None and self._day_usd >= lim.day_usd:
            return BudgetStop(
                scope="day",
                reason=(
                    f"LLM budget for {self._day} spent: ${self._day_usd:.4f} of ${lim.day_usd:.2f}"
                ),
            )
        return None

    def _key(self) -> str:
        return f"llm_spend:{self._day}"

    def _roll_day(self) -> None:
        today = self._today()
        if today == self._day:
            return
        self._day, self._day_tokens, self._day_usd = today, 0, 0.0
        if self._store is None:
            return
        stored = self._store.get(self._key())
        if stored is not None:
            record = json.loads(stored)
            self._day_tokens, self._day_usd = int(record["tokens"]), float(record["usd"])
