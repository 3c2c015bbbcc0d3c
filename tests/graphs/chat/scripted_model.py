"""A scripted stand-in for the chat's `ChatModel` port, for tests of what the engine and its
surfaces do around a model (the real Claude path replays cassettes through the SDK)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphs.chat.model_port import ModelReply, ToolCall
from tests.graphs.chat.chat_support import SYMBOL

Reply = Callable[[list[dict[str, Any]], list[dict[str, Any]]], ModelReply]


class ScriptedModel:
    """Answers each step with the next scripted reply; keeps what it was sent."""

    model = "scripted"

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.seen: list[tuple[list[dict[str, Any]], list[str]]] = []

    def step(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_token: Callable[[str], None],
    ) -> ModelReply:
        self.seen.append(([dict(m) for m in messages], [t["name"] for t in tools]))
        reply = self.replies.pop(0)(messages, tools)
        for word in reply.text.split():
            on_token(word + " ")
        return reply


def says(text: str) -> Reply:
    return lambda messages, tools: ModelReply(
        text=text,
        tool_calls=(),
        input_tokens=100,
        output_tokens=20,
        cost_usd=0.001,
        stop_reason="end_turn",
    )


def calls(name: str, payload: dict[str, Any], call_id: str = "call-1") -> Reply:
    return lambda messages, tools: ModelReply(
        text="",
        tool_calls=(ToolCall(call_id=call_id, name=name, input=payload),),
        input_tokens=100,
        output_tokens=20,
        cost_usd=0.001,
        stop_reason="tool_use",
    )


BUY = {"side": "buy", "quantity": 1.0, "symbol": SYMBOL, "stop_price": 75.0, "thesis": "dip"}
