"""What every chat surface drives, and what it gets back.

A surface (terminal, HTTP, MCP) never touches the graph, the tools or the stores: it calls a
`ChatService` and shows the `ChatEvent`s it yields, in order. A turn streams tokens, tool calls
and their results, and ends with exactly one `answer`, `approval` or `error` event. A trade is
never placed inside `send`: a proposal ends the turn with an `approval` event (the validator's
verdict and checks, the order it would place), and only `approve`, by a person, resumes the
checkpointed thread and executes it. Mistakes a person can fix raise a `ChatError` whose
`status` is the HTTP status a server answers with.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from core.errors import UserError

ChatEventKind = Literal["token", "tool_call", "tool_result", "approval", "answer", "error"]
"""token: a piece of the model's answer as it streams; tool_call / tool_result: one tool run
(input, then its typed, size-bounded result or one error line); approval: a validated proposal
waiting for a person; answer: the turn's final text; error: the turn failed (one line)."""

Role = Literal["viewer", "trader", "admin"]
"""viewer reads; trader chats and approves trades; admin also changes limits and modes."""


class ChatEvent(BaseModel):
    """One thing a turn produced, in the order it happened."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ChatEventKind
    thread: str
    text: str = ""
    """token and answer: the text; error: one line saying what is wrong and what to do."""
    tool: str | None = None
    call_id: str | None = None
    data: dict[str, Any] | None = None
    """tool_call: its input; tool_result: its result; approval: a `PendingApproval` dump."""


class ValidatorCheck(BaseModel):
    """One line of the validator's verdict on a proposal, as shown to the person approving."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    passed: bool
    detail: str


class PendingApproval(BaseModel):
    """A proposal the validator approved, waiting for a person (or denied, shown and closed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    approval_id: str
    thread: str
    account: str
    symbol: str
    side: Literal["buy", "sell"]
    quantity: float
    order_type: str
    limit_price: float | None = None
    stop_price: float | None = None
    approved_by_validator: bool
    refusal_codes: tuple[str, ...] = ()
    checks: tuple[ValidatorCheck, ...] = ()
    created_at_ms: int
    expires_at_ms: int


class ChatMessage(BaseModel):
    """One message of a thread's history as a person reads it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["user", "assistant", "tool"]
    text: str
    tool: str | None = None
    at_ms: int


class ThreadView(BaseModel):
    """A thread as it stands: its history and the approval it waits for, if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    thread: str
    messages: tuple[ChatMessage, ...]
    pending: PendingApproval | None = None
    tokens_used: int = 0
    cost_usd: float = 0.0


class ChatError(UserError):
    """A chat request that cannot be served as asked, in one line; `status` is its HTTP code."""

    status = 400


class UnknownThreadError(ChatError):
    status = 404


class NothingToApproveError(ChatError):
    status = 409


class ThreadBusyError(ChatError):
    """The thread is answering another message, or waits for a person's decision on a trade."""

    status = 409


class ApprovalExpiredError(ChatError):
    status = 410


class NotAllowedError(ChatError):
    """The caller's role does not allow this (a viewer approving a trade)."""

    status = 403


class BudgetSpentError(ChatError):
    """The thread's or the day's token or dollar budget is used up."""

    status = 429


class ChatService(Protocol):
    """The one engine every chat surface drives. Every method is safe to call from a thread
    other than the one that made the service; `actor` is who asks (an API key's name, or
    "terminal"), written to the thread's audit trace with every turn."""

    def send(self, thread: str, text: str, *, actor: str, role: Role) -> Iterator[ChatEvent]:
        """One turn: `text` is a slash command (answered offline, no model) or a question for
        the model. A new `thread` id starts a thread."""
        ...

    def tool_definitions(self) -> list[dict[str, Any]]:
        """The chat's read-only tools (name, description, input JSON schema), in the order a
        model is shown them; proposing a trade is `propose`, not one of them."""
        ...

    def call_tool(
        self, thread: str, tool: str, payload: dict[str, Any], *, actor: str, role: Role
    ) -> Iterator[ChatEvent]:
        """One turn running one of those tools by name, with no model (an MCP client's call):
        a tool_call, its tool_result, then its `answer` (laid out) or `error` (one line)."""
        ...

    def propose(
        self, thread: str, idea: dict[str, Any], *, actor: str, role: Role
    ) -> Iterator[ChatEvent]:
        """One turn proposing a trade (a `TradeIdea`'s fields) with no model: it ends with the
        validator's `approval` event (approved: the thread waits for a person) or an `error`.
        A viewer may not propose."""
        ...

    def approve(
        self, thread: str, approval_id: str, *, actor: str, role: Role
    ) -> Iterator[ChatEvent]:
        """Resume the thread from its checkpoint and execute the pending order (trader or
        admin only). The order goes through `risk.validate` again at this moment."""
        ...

    def reject(
        self, thread: str, approval_id: str, *, actor: str, role: Role, reason: str = ""
    ) -> Iterator[ChatEvent]:
        """Resume the thread and close the pending proposal without trading."""
        ...

    def view(self, thread: str) -> ThreadView:
        """The thread's history and pending approval; `UnknownThreadError` if there is none."""
        ...
