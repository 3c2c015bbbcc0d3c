"""The one thing the chat graph asks of a language model: a step of the conversation.

A step is one Messages API request: the system prompt, the thread's messages so far (Anthropic
Messages API form: user and assistant turns, `tool_use` blocks in the assistant's, their
`tool_result` blocks in the next user turn) and the tools it may call. The model streams its
text through `on_token` as it comes and returns the whole reply: its text, the tool calls it
asks for, and what the request cost. The graph runs the calls and asks again, a bounded number
of rounds. Claude behind the Anthropic SDK is one implementation (`agents.claude_chat`); a
scripted stand-in is another (the unit tests'). No model configured: the graph answers free
text with one line saying how to give it one, and slash commands work all the same.

The port lives in `core` so that `agents` (which may not import `graphs`) can implement it;
`graphs.chat.model_port` re-exports it for the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

NO_MODEL = (
    "a model is needed to answer free text: set ANTHROPIC_API_KEY, or ANTHROPIC_BASE_URL for any "
    "Anthropic-compatible endpoint; slash commands work without one (/help lists them)"
)


class ToolCall(BaseModel):
    """One tool the model asks to run, as a `tool_use` block names it."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    name: str
    input: dict[str, Any]


class ModelReply(BaseModel):
    """The model's whole reply to one step; `stop_reason` as the Messages API gives it
    (`end_turn`, `tool_use`, `max_tokens`, ...)."""

    model_config = ConfigDict(frozen=True)

    text: str
    tool_calls: tuple[ToolCall, ...]
    input_tokens: int
    """Fresh input tokens (the Messages API's `input_tokens`: cache reads and writes apart)."""
    output_tokens: int
    cost_usd: float
    stop_reason: str
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0

    @property
    def tokens(self) -> int:
        """Every token billed: fresh input, cache writes and reads, output."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_creation_tokens
        )


class ChatModelError(Exception):
    """A step that failed after the client's own retries (outage, refused key, overloaded, a
    broken stream): one line naming the kind, with no secret, fit for an `error` event and the
    thread's trace; `kind` is the failure's class or the API's error type."""

    def __init__(self, line: str, *, kind: str) -> None:
        super().__init__(line)
        self.kind = kind


class ChatModel(Protocol):
    """A language model the chat can converse with."""

    def step(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_token: Callable[[str], None],
    ) -> ModelReply:
        """One request: stream the answer's text through `on_token`, return the reply; raise
        `ChatModelError` when it fails."""
        ...
