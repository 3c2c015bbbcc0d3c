"""Claude as the chat's model: one streamed Messages API request per step of a turn.

The request is built for prompt caching as the analyst's is: the stable prefix (the tool
definitions, then the system prompt) carries `cache_control` breakpoints, and so does the last
block of the conversation, so that the next round of the same turn (and the next turn of the
thread) reads everything before it from the cache instead of paying for it again.

Text streams to `on_token` as the API sends it. A step with no tools offered (the turn's last
round) still sends the definitions, with `tool_choice: none`: the API refuses a conversation
holding `tool_use` or `tool_result` blocks without tool definitions, and the cached prefix
stays the same. Usage is priced with the analyst's table (`agents.budget.request_cost`); every
SDK failure, after the SDK's own retries, is one `ChatModelError` line without the key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agents.claude import describe_failure, response_usage
from core.chat_model import ChatModelError, ModelReply, ToolCall
from core.settings import ModelPrice, Settings

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message

EPHEMERAL = {"type": "ephemeral"}
NO_TOOL_NOW = {"type": "none"}
REPLAY_KEY = "replay-without-a-key"
"""The SDK wants a key to build its client; a replayed cassette never sends one anywhere."""
_TOOL_BLOCKS = ("tool_use", "tool_result")


class ClaudeChat:
    """The `ChatModel` over the official SDK; `client` is an `anthropic.Anthropic`, passed in
    so tests and replays can give it any transport. `model` names it in the turn's trace."""

    def __init__(
        self, client: anthropic.Anthropic, *, model: str, max_tokens: int, price: ModelPrice
    ) -> None:
        self._client = client
        self.model = model
        self._max_tokens = max_tokens
        self._price = price
        self._tools: list[dict[str, Any]] = []
        """The chat's tool definitions, as last offered: sent again, not callable, on a step
        that offers none."""

    def step(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_token: Callable[[str], None],
    ) -> ModelReply:
        import anthropic

        request = self._request(system, messages, tools)
        try:
            with self._client.messages.stream(**request) as stream:
                for text in stream.text_stream:
                    on_token(text)
                message = stream.get_final_message()
        except anthropic.APIConnectionError as exc:
            raise _replay_miss(exc) or _failure(exc, self._client) from None
        except anthropic.APIError as exc:
            raise _failure(exc, self._client) from None
        return self._reply(message)

    def _request(
        self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        if tools:
            self._tools = list(tools)
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self._max_tokens,
            "system": [{"type": "text", "text": system, "cache_control": EPHEMERAL}],
            "messages": with_cache_breakpoint(messages),
        }
        offered = tools or self._tools
        if not offered and holds_tool_blocks(messages):
            raise ChatModelError(
                "the conversation holds tool calls but no tool definitions were ever offered: "
                "start a new thread",
                kind="no_tool_definitions",
            )
        if offered:
            request["tools"] = with_cache_breakpoint_on_last(offered)
        if offered and not tools:
            request["tool_choice"] = NO_TOOL_NOW
        return request

    def _reply(self, message: Message) -> ModelReply:
        usage = response_usage(message, self._price)
        text = "".join(block.text for block in message.content if block.type == "text")
        calls = tuple(
            ToolCall(call_id=block.id, name=block.name, input=dict(block.input))
            for block in message.content
            if block.type == "tool_use"
        )
        stop = message.stop_reason or "end_turn"
        if stop == "max_tokens" and calls:
            calls = ()  # a tool call cut mid-way has no input to trust
            text += " [the answer was cut at max_tokens; ask for less]"
        return ModelReply(
            text=text,
            tool_calls=calls,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_creation_tokens=usage.cache_creation_tokens,
            cost_usd=usage.cost_usd,
            stop_reason=stop,
        )


def holds_tool_blocks(messages: list[dict[str, Any]]) -> bool:
    return any(
        isinstance(m.get("content"), list)
        and any(b.get("type") in _TOOL_BLOCKS for b in m["content"] if isinstance(b, dict))
        for m in messages
    )


def with_cache_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages (copied, never changed in place) with a breakpoint on the last block."""
    if not messages:
        return []
    *before, last = messages
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
    if not blocks:
        return list(messages)
    return [*before, {**last, "content": with_cache_breakpoint_on_last(blocks)}]


def with_cache_breakpoint_on_last(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    *before, last = blocks
    return [*before, {**last, "cache_control": EPHEMERAL}]


def _failure(exc: anthropic.APIError, client: anthropic.Anthropic) -> ChatModelError:
    import anthropic

    kind = type(exc).__name__
    if isinstance(exc, anthropic.APIStatusError) and isinstance(exc.body, dict):
        error = exc.body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            kind = error["type"]
    return ChatModelError(describe_failure(exc, secret=client.api_key), kind=kind)


def _replay_miss(exc: Exception) -> ChatModelError | None:
    """A replayed cassette without this request: say so, not "connection error"."""
    cause = exc.__cause__
    if cause is None or type(cause).__name__ != "CannotOverwriteExistingCassetteException":
        return None
    return ChatModelError(
        "the cassette has no answer for this request (POST /v1/messages): the conversation "
        "left the recording; record it again with a key, or ask what was recorded",
        kind="replay_mismatch",
    )


def claude_chat_from_settings(
    settings: Settings,
    *,
    replaying: bool = False,
    environ: Mapping[str, str] = os.environ,
) -> ClaudeChat | None:
    """Claude from the settings: with ANTHROPIC_API_KEY, or an Anthropic-compatible endpoint
    (`anthropic.base_url`, ANTHROPIC_BASE_URL); None with neither. `replaying` (a cassette
    answers every request): no key needed and no retry (a miss is final)."""
    import anthropic

    llm = settings.anthropic
    secret = settings.anthropic_api_key
    key = secret.get_secret_value().strip() if secret is not None else ""
    endpoint = llm.base_url or environ.get("ANTHROPIC_BASE_URL", "").strip() or None
    if not (key or endpoint or replaying):
        return None
    client = anthropic.Anthropic(
        api_key=key or REPLAY_KEY,
        base_url=endpoint,
        timeout=llm.timeout_seconds,
        max_retries=0 if replaying else llm.max_retries,
    )
    return ClaudeChat(client, model=llm.model, max_tokens=llm.max_tokens, price=llm.price())


__all__ = ["ClaudeChat", "claude_chat_from_settings"]
