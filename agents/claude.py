"""The Claude analyst: one Messages API call per cycle that must end in a typed proposal.

The system prompt and the tool definition form a stable prefix marked for prompt caching; only
the brief changes from cycle to cycle. Whatever the model answers, the result is a Proposal or a
HOLD with the reason: nothing it writes reaches anything but the risk validator.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agents.base import AnalystResult, LlmUsage, ResearchContext
from core.types import Brief, Proposal
from prompts.loader import load_prompt

if TYPE_CHECKING:
    import anthropic

SUBMIT_TOOL: dict[str, Any] = {
    "name": "submit_proposal",
    "description": "Submit your one proposal for this cycle. It is checked by the risk validator.",
    "input_schema": {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["BUY", "SELL", "HOLD"]},
            "symbol": {"type": "string", "description": "ccxt symbol, as in the brief"},
            "size_fraction": {
                "type": "number",
                "description": "BUY: fraction of equity to spend; SELL: fraction of the position",
            },
            "order_type": {"type": "string", "enum": ["market", "limit"]},
            "limit_price": {"type": "number"},
            "stop_loss": {"type": "number"},
            "take_profit": {"type": "number"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "thesis": {"type": "string", "description": "the evidence, one or two sentences"},
        },
        "required": ["action", "symbol", "confidence", "thesis"],
    },
}


def render_brief(brief: Brief) -> str:
    """The per-cycle part of the request: the brief as JSON, marked as data."""
    return "<brief>\n" + brief.model_dump_json(indent=1) + "\n</brief>\nSubmit your proposal."


class ClaudeAnalyst:
    name = "anthropic"

    def __init__(self, client: anthropic.Anthropic, *, model: str, max_tokens: int) -> None:
        self._client = client
        self.model = model
        self._max_tokens = max_tokens
        self._system = load_prompt("analyst_system")
        self.prompt_version = self._system.version

    def propose(self, brief: Brief, research: ResearchContext | None = None) -> AnalystResult:
        import anthropic

        messages: list[dict[str, Any]] = [{"role": "user", "content": render_brief(brief)}]
        started = time.perf_counter()
        try:
            response = self._client.messages.create(  # type: ignore[call-overload]
                model=self.model,
                max_tokens=self._max_tokens,
                system=[
                    {
                        "type": "text",
                        "text": self._system.text,
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
                tools=[SUBMIT_TOOL],
                tool_choice={"type": "tool", "name": "submit_proposal"},
                messages=messages,
            )
        except anthropic.APIError as exc:
            reason = f"LLM call failed ({exc.__class__.__name__}): no proposal this cycle"
            result = self._result(
                Proposal.hold(brief.symbol, reason), messages, LlmUsage(requests=1)
            )
            return result.model_copy(update={"error": reason})
        latency = time.perf_counter() - started
        usage = LlmUsage(
            requests=1,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            cache_read_tokens=response.usage.cache_read_input_tokens or 0,
            cache_creation_tokens=response.usage.cache_creation_input_tokens or 0,
        )
        answer = [block.model_dump(mode="json") for block in response.content]
        messages.append({"role": "assistant", "content": answer, "latency_s": round(latency, 3)})
        return self._result(self._parse(response, brief), messages, usage)

    def _parse(self, response: anthropic.types.Message, brief: Brief) -> Proposal:
        calls = [b for b in response.content if b.type == "tool_use"]
        if not calls or calls[0].name != SUBMIT_TOOL["name"]:
            return Proposal.hold(brief.symbol, f"model gave no proposal ({response.stop_reason})")
        try:
            return Proposal.model_validate(calls[0].input)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return Proposal.hold(brief.symbol, f"model proposal invalid at {where}: {first['msg']}")

    def _result(
        self, proposal: Proposal, messages: list[dict[str, Any]], usage: LlmUsage
    ) -> AnalystResult:
        return AnalystResult(
            proposal=proposal,
            model=self.model,
            prompt_version=self.prompt_version,
            messages=tuple(messages),
            usage=usage,
        )


def make_claude_analyst(
    api_key: str, *, model: str, max_tokens: int, timeout: float
) -> ClaudeAnalyst:
    """A Claude analyst on the official SDK; ANTHROPIC_BASE_URL is honoured by the SDK itself."""
    import anthropic

    client = anthropic.Anthropic(api_key=api_key, timeout=timeout, max_retries=2)
    return ClaudeAnalyst(client, model=model, max_tokens=max_tokens)
