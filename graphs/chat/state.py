"""The checkpointed state of one chat thread, and the ports its steps run against.

Everything in the state is plain JSON-able data (dicts, lists, strings, numbers), so a thread
checkpointed by one process is resumed by another, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from core.settings import ChatSettings
from core.types import Trace
from graphs.chat.audit import TurnRecord
from graphs.chat.contract import PendingApproval
from graphs.chat.execution import Execution
from graphs.chat.model_port import ChatModel
from tools.registry import ToolOutcome


class ChatState(TypedDict, total=False):
    thread: str
    turn: dict[str, Any]
    """The turn under way: actor, role, kind, text, at_ms, calls, rounds, usage, answer, error."""
    messages: list[dict[str, Any]]
    """The model's conversation (Messages API form), across turns."""
    history: list[dict[str, Any]]
    """What a person reads of the thread (`ChatMessage` dumps)."""
    calls: list[dict[str, Any]]
    """The tool calls the model asked for in its last reply, to run."""
    held: list[dict[str, Any]]
    """tool_result blocks of a reply whose proposal waits for its verdict or a person."""
    idea: dict[str, Any] | None
    idea_call: str | None
    """The propose_trade call the idea came from (None: `/trade`)."""
    pending: dict[str, Any] | None
    """The validator's verdict on the idea (`PendingApproval` dump)."""
    decision: dict[str, Any] | None
    """A person's answer to an approval: approve, reject or expire, by whom, when."""
    outcome: dict[str, Any] | None
    """What came of an approved proposal (`Execution` dump)."""
    tokens_used: int
    cost_usd: float


class ChatTools(Protocol):
    """The chat's tools: their Anthropic definitions, and a call by name (never raising)."""

    def definitions(self) -> list[dict[str, Any]]: ...

    def call(self, name: str, payload: dict[str, Any]) -> ToolOutcome: ...


class ChatTrading(Protocol):
    """A proposal's way to the validator, and an approved one's to the broker."""

    def propose(self, idea: dict[str, Any], *, thread: str, approval_id: str) -> PendingApproval:
        """The validator's verdict; ValueError (one line) for an idea that does not read."""
        ...

    def execute(self, pending: PendingApproval, idea: dict[str, Any]) -> Execution:
        """Validate the approved order again now and, if it passes, place it."""
        ...


class TurnAudit(Protocol):
    def record(self, turn: TurnRecord) -> Trace: ...


class SpendCheck(Protocol):
    """The day's model spend across threads (the thread's is in its state)."""

    def spent(self, thread_tokens: int, thread_usd: float) -> str | None:
        """Why no further model request may go, or None."""
        ...

    def add(self, tokens: int, usd: float) -> None: ...


@dataclass
class ChatDeps:
    """The ports a thread runs against; the graph holds no other reference to the world."""

    tools: ChatTools
    trading: ChatTrading
    audit: TurnAudit
    spend: SpendCheck
    limits: ChatSettings
    system: str
    model: ChatModel | None = None
    model_name: str | None = None
    prompt_version: str | None = None
    clock: Callable[[], int] | None = None
