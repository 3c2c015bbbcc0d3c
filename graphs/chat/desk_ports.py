"""The chat graph's ports over the desk: its tool registry, and its way from a trade idea to
the validator and from an approval to the broker.

Trades on one account are validated and placed one at a time (two approvals racing for the
same cash would each see it free)."""

from __future__ import annotations

import threading
from typing import Any

from pydantic import ValidationError

from graphs.chat.audit import chat_run_id
from graphs.chat.contract import PendingApproval
from graphs.chat.desk import ChatDesk, TradeIdea, chat_registry, validate_proposal
from graphs.chat.execution import Execution, execute_approval
from tools.registry import ToolContext, ToolOutcome, invalid_input


class RegistryTools:
    """The desk's chat registry (scope "chat"), called with no context of its own: the
    tools read the desk they were built over."""

    def __init__(self, desk: ChatDesk) -> None:
        self._registry = chat_registry(desk)
        self._context = ToolContext()

    def definitions(self) -> list[dict[str, Any]]:
        return self._registry.definitions("chat")

    def call(self, name: str, payload: dict[str, Any]) -> ToolOutcome:
        return self._registry.call(name, payload, self._context, scope="chat")


class DeskTrading:
    def __init__(self, desk: ChatDesk, ttl_s: int) -> None:
        self._desk = desk
        self._ttl_s = ttl_s
        self._lock = threading.Lock()

    def propose(self, idea: dict[str, Any], *, thread: str, approval_id: str) -> PendingApproval:
        try:
            trade = TradeIdea.model_validate(idea)
        except ValidationError as exc:
            raise ValueError(invalid_input(exc)) from None
        with self._lock:
            return validate_proposal(
                self._desk, trade, thread=thread, approval_id=approval_id, ttl_s=self._ttl_s
            )

    def execute(self, pending: PendingApproval, idea: dict[str, Any]) -> Execution:
        trade = TradeIdea.model_validate(idea)
        with self._lock:
            return execute_approval(self._desk, pending, trade, run_id=chat_run_id(pending.thread))
