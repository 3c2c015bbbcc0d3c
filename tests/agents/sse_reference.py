"""A scripted Messages API that streams, written from the Anthropic API reference.

No Anthropic API can be reached where this project is built, so the chat's cassettes were made
by the real SDK talking to this stand-in (through httpx's MockTransport) with vcrpy recording
both sides. It answers `stream: true` requests as the reference's "Streaming Messages" page
describes: `text/event-stream`, the events message_start, content_block_start, ping,
content_block_delta (text_delta, input_json_delta), content_block_stop, message_delta (stop
reason, output tokens) and message_stop. Before answering, it refuses, with the API's 400
`invalid_request_error`, the requests the API refuses: tool blocks without tool definitions, a
`tool_use` whose `tool_result` is not at the start of the next user message, a `tool_result`
answering nothing, an empty text block, more than four cache breakpoints.

Token counts are estimates (4 bytes per token); the cache is modelled as the API's prompt
cache behaves with the breakpoints the chat sets: a request reads what the previous one of the
same conversation wrote, and writes the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

MODEL = "claude-sonnet-4-6"
SSE = {"content-type": "text/event-stream; charset=utf-8"}
Handler = Callable[[dict[str, Any]], httpx.Response]
MAX_BREAKPOINTS = 4
TAIL_TOKENS = 4
"""Fresh input tokens when everything but the role markers sits behind a breakpoint."""


def tokens(payload: Any) -> int:
    return max(1, len(json.dumps(payload)) // 4)


@dataclass(frozen=True)
class Call:
    """A tool the scripted model calls: its name and input."""

    name: str
    input: dict[str, Any]


class StreamingReference:
    """Streams scripted answers as the Messages API does, after checking each request."""

    def __init__(self, *, chunk_words: int = 3) -> None:
        self.seq = 0
        self.cached = 0
        self._chunk_words = chunk_words

    def answer(
        self, body: dict[str, Any], text: str = "", calls: Iterable[Call] = ()
    ) -> httpx.Response:
        """The answer `text` and `calls` (in that order), or the API's 400 for a request the
        API refuses."""
        problem = request_problem(body)
        if problem is not None:
            return invalid_request(problem)
        self.seq += 1
        blocks: list[dict[str, Any]] = []
        if text:
            blocks.append({"type": "text", "text": text})
        for n, call in enumerate(calls, 1):
            blocks.append(
                {"type": "tool_use", "id": f"toolu_chat{self.seq:03d}_{n}", "name": call.name,
                 "input": call.input}
            )  # fmt: skip
        stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        events = [self._start(body), *self._blocks(blocks), *self._stop(stop, blocks)]
        stream = "".join(sse(kind, data) for kind, data in events)
        return httpx.Response(200, content=stream.encode(), headers=SSE)

    def _start(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        prompt = tokens(body.get("tools", [])) + tokens(body["system"]) + tokens(body["messages"])
        read = min(self.cached, prompt)
        self.cached = prompt
        usage = {
            "input_tokens": TAIL_TOKENS,
            "cache_creation_input_tokens": prompt - read,
            "cache_read_input_tokens": read,
            "output_tokens": 1,
        }
        message = {
            "id": f"msg_chat{self.seq:05d}", "type": "message", "role": "assistant",
            "model": body["model"], "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": usage,
        }  # fmt: skip
        return "message_start", {"type": "message_start", "message": message}

    def _blocks(self, blocks: list[dict[str, Any]]) -> Iterable[tuple[str, dict[str, Any]]]:
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                start = {"type": "text", "text": ""}
                deltas = [
                    {"type": "text_delta", "text": part} for part in self._chunks(block["text"])
                ]
            else:
                start = {**block, "input": {}}
                raw = json.dumps(block["input"])
                deltas = [
                    {"type": "input_json_delta", "partial_json": raw[i : i + 40]}
                    for i in range(0, len(raw), 40)
                ]
            yield "content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": start}  # fmt: skip
            if index == 0:
                yield "ping", {"type": "ping"}
            for delta in deltas:
                yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": delta}  # fmt: skip
            yield "content_block_stop", {"type": "content_block_stop", "index": index}

    def _stop(
        self, stop: str, blocks: list[dict[str, Any]]
    ) -> Iterable[tuple[str, dict[str, Any]]]:
        yield (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": tokens(blocks)},
            },
        )
        yield "message_stop", {"type": "message_stop"}

    def _chunks(self, text: str) -> list[str]:
        words = text.split(" ")
        size = self._chunk_words
        parts = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
        return [part + (" " if i < len(parts) - 1 else "") for i, part in enumerate(parts)]


def sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


def invalid_request(message: str) -> httpx.Response:
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    return httpx.Response(400, json=error, headers={"content-type": "application/json"})


def request_problem(body: dict[str, Any]) -> str | None:
    """What the Messages API would refuse in this request (its words), or None."""
    if not body.get("stream"):
        return "this scripted API answers streamed requests only"
    messages = body["messages"]
    if not messages or messages[0]["role"] != "user":
        return "messages: the first message must use the user role"
    blocks = [b for m in messages if isinstance(m["content"], list) for b in m["content"]]
    if any(b["type"] in ("tool_use", "tool_result") for b in blocks) and not body.get("tools"):
        return "Requests which include `tool_use` or `tool_result` blocks must define tools."
    if any(b["type"] == "text" and not b["text"] for b in blocks):
        return "messages: text content blocks must be non-empty"
    breakpoints = sum("cache_control" in item for item in _cacheable(body))
    if breakpoints > MAX_BREAKPOINTS:
        return (
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints}."
        )
    return _tool_pairing_problem(messages)


def _cacheable(body: dict[str, Any]) -> list[dict[str, Any]]:
    system = body["system"] if isinstance(body["system"], list) else []
    blocks = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]
    return [*body.get("tools", []), *system, *blocks]


def _tool_pairing_problem(messages: list[dict[str, Any]]) -> str | None:
    asked: list[str] = []
    for number, message in enumerate(messages):
        content = message["content"] if isinstance(message["content"], list) else []
        results = [b["tool_use_id"] for b in content if b["type"] == "tool_result"]
        if asked:
            leading = [b.get("tool_use_id") for b in content[: len(asked)]]
            if message["role"] != "user" or sorted(leading) != sorted(asked):
                return (
                    f"messages.{number - 1}: `tool_use` ids were found without `tool_result` "
                    f"blocks immediately after: {', '.join(asked)}. Each `tool_use` block must "
                    "have a corresponding `tool_result` block in the next message."
                )
        elif results:
            return (
                f"messages.{number}.content.0: unexpected `tool_use_id` found in `tool_result` "
                "blocks. Each `tool_result` block must have a corresponding `tool_use` block in "
                "the previous message."
            )
        asked = (
            [b["id"] for b in content if b["type"] == "tool_use"]
            if message["role"] == "assistant"
            else []
        )
    if asked:
        return "messages: the conversation ends with `tool_use` blocks that have no results"
    return None
