"""The Claude analyst: a short tool-use conversation per cycle that must end in a typed proposal.

Each request is a stable prefix (tool definitions, then the system prompt, marked for prompt
caching) followed by the cycle's brief. The model may call read-only research tools for at most
`max_tool_rounds` rounds, then must call `submit_proposal`; an answer that does not validate is
sent back once with the error. Whatever the model answers, the result is a Proposal or a HOLD
with the reason: nothing it writes reaches anything but the risk validator.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agents.base import AnalystResult, BudgetStop, LlmUsage, ResearchContext
from agents.brief_text import render_brief
from agents.budget import SpendLedger, request_cost
from agents.research_tools import RESEARCH_TOOLS, run_research_tool
from agents.submit import SUBMIT_TOOL, parse_submission
from core.errors import ReplayMismatchError
from core.settings import ModelPrice
from core.types import Brief, Proposal, TradingState
from prompts.loader import load_prompt

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message

    from agents.claude_reflection import ClaudeReflector

SUBMIT = {"type": "tool", "name": SUBMIT_TOOL["name"]}
MAX_FAILURE_TEXT = 240
_KEY_SHAPED = re.compile(r"sk-ant-[A-Za-z0-9_-]+")
ANY_TOOL = {"type": "any"}


class _Conversation:
    """One cycle's exchange: messages sent, usage summed, the per-request audit notes."""

    def __init__(self, brief: Brief) -> None:
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": render_brief(brief)}]
        self.usage = LlmUsage()
        self.calls: list[dict[str, Any]] = []
        self.research_rounds = 0
        self.retried = False


class ClaudeAnalyst:
    """Claude as the analyst; `client` is an `anthropic.Anthropic`, passed in so tests and
    replays can give it any transport."""

    name = "anthropic"

    def __init__(
        self,
        client: anthropic.Anthropic,
        *,
        model: str,
        max_tokens: int,
        price: ModelPrice,
        spend: SpendLedger,
    ) -> None:
        self._client = client
        self.model = model
        self._max_tokens = max_tokens
        self._price = price
        self.spend = spend
        self._system = load_prompt("analyst_system")
        self.prompt_version = self._system.version
        self.requests_sent = [0]
        """Requests sent so far (in a list, shared with the reflector)."""
        self.tools: list[dict[str, Any]] = [*RESEARCH_TOOLS, SUBMIT_TOOL]
        self.system: list[dict[str, Any]] = [
            {"type": "text", "text": self._system.text, "cache_control": {"type": "ephemeral"}}
        ]

    def reflector(self) -> ClaudeReflector:
        """Lessons by Claude on this analyst's client, price table and budget."""
        from agents.claude_reflection import ClaudeReflector

        return ClaudeReflector(
            self._client,
            model=self.model,
            price=self._price,
            spend=self.spend,
            counter=self.requests_sent,
        )

    def propose(self, brief: Brief, research: ResearchContext | None = None) -> AnalystResult:
        skip = _nothing_to_decide(brief)
        if skip is not None:
            return self._result(Proposal.hold(brief.symbol, skip), _Conversation(brief))
        talk = _Conversation(brief)
        max_rounds = self.spend.limits.max_tool_rounds if research is not None else 0
        while True:
            stop = self.spend.stop()
            if stop is not None:
                return self._budget_stop(brief, talk, stop)
            forced = talk.research_rounds >= max_rounds
            outcome = self._ask(brief, talk, SUBMIT if forced else ANY_TOOL)
            if isinstance(outcome, AnalystResult):
                return outcome
            proposal = self._answer(brief, talk, outcome, research)
            if proposal is not None:
                return self._result(proposal, talk)

    def _ask(
        self, brief: Brief, talk: _Conversation, tool_choice: dict[str, str]
    ) -> Message | AnalystResult:
        """One request; an API failure (after the SDK's retries) is the cycle's HOLD."""
        import anthropic

        started = time.perf_counter()
        self.requests_sent[0] += 1
        try:
            response: Message = self._client.messages.create(  # type: ignore[call-overload]
                model=self.model,
                max_tokens=self._max_tokens,
                system=self.system,
                tools=self.tools,
                tool_choice=tool_choice,
                messages=talk.messages,
            )
        except anthropic.APIConnectionError as exc:
            raise_if_replay_miss(exc, self.requests_sent[0])
            return self._failed(brief, talk, exc)
        except anthropic.APIError as exc:
            return self._failed(brief, talk, exc)
        usage = response_usage(response, self._price)
        talk.usage += usage
        self.spend.add(usage)
        talk.calls.append(
            {
                "stop_reason": response.stop_reason,
                "latency_s": round(time.perf_counter() - started, 3),
                **usage.model_dump(exclude={"requests"}),
            }
        )
        content = [
            block.model_dump(mode="json", exclude_none=True, warnings=False)
            for block in response.content
        ]
        talk.messages.append({"role": "assistant", "content": content})
        return response

    def _answer(
        self,
        brief: Brief,
        talk: _Conversation,
        response: Message,
        research: ResearchContext | None,
    ) -> Proposal | None:
        """The proposal this answer settles on, or None when the conversation goes on."""
        if response.stop_reason == "refusal":
            return Proposal.hold(brief.symbol, "the model declined to answer (refusal)")
        calls = [block for block in response.content if block.type == "tool_use"]
        submitted = [c for c in calls if c.name == SUBMIT_TOOL["name"]]
        if submitted:
            try:
                return parse_submission(submitted[0].input, brief)
            except ValidationError as exc:
                if talk.retried:
                    return Proposal.hold(
                        brief.symbol, f"model proposal invalid twice: {_first(exc)}"
                    )
                talk.retried = True
                talk.messages.append(_tool_errors(calls, submitted[0].id, _first(exc)))
                return None
        if not calls or research is None:
            return Proposal.hold(brief.symbol, f"model gave no proposal ({response.stop_reason})")
        talk.research_rounds += 1
        results = [
            run_research_tool(call.id, call.name, call.input, brief, research) for call in calls
        ]
        talk.messages.append({"role": "user", "content": results})
        return None

    def _budget_stop(self, brief: Brief, talk: _Conversation, stop: BudgetStop) -> AnalystResult:
        result = self._result(Proposal.hold(brief.symbol, stop.reason), talk)
        return result.model_copy(update={"budget_exhausted": stop})

    def _failed(self, brief: Brief, talk: _Conversation, exc: anthropic.APIError) -> AnalystResult:
        error = describe_failure(exc, secret=getattr(self._client, "api_key", None))
        reason = f"LLM call failed ({error}): no proposal this cycle"
        talk.usage += LlmUsage(requests=1)
        result = self._result(Proposal.hold(brief.symbol, reason), talk)
        return result.model_copy(update={"error": error, "error_kind": type(exc).__name__})

    def _result(self, proposal: Proposal, talk: _Conversation) -> AnalystResult:
        messages = tuple(talk.messages) if talk.calls or talk.usage.requests else ()
        if talk.calls:
            messages += ({"role": "audit", "requests": talk.calls},)
        return AnalystResult(
            proposal=proposal,
            model=self.model,
            prompt_version=self.prompt_version,
            messages=messages,
            usage=talk.usage,
            consulted=bool(talk.calls) or talk.usage.requests > 0,
        )


def _nothing_to_decide(brief: Brief) -> str | None:
    """Why no request is worth paying for this cycle, if so."""
    if not brief.features.ready:
        return "warming up: not enough closed candles yet (no LLM call)"
    flat = brief.position_quantity <= 0
    if flat and brief.trading_state is not TradingState.ACTIVE:
        return f"no position and trading is {brief.trading_state.value}: nothing to decide"
    return None


def describe_failure(exc: anthropic.APIError, *, secret: str | None = None) -> str:
    """One line saying what failed, for the trace, the breaker and the run summary: the kind,
    then the HTTP status and the API's own explanation, or the network error beneath a
    connection error (the SDK says only "Connection error."). The API key, and anything shaped
    like one, is blanked out, so the line can go anywhere."""
    import anthropic

    kind = type(exc).__name__
    if isinstance(exc, anthropic.APIStatusError):
        text = f"{kind} {exc.status_code}: {exc.api_message or exc.message}"
    elif isinstance(exc, anthropic.APIConnectionError):
        text = f"{kind}: {exc.message.split('. ')[0].rstrip('.')}"
        cause = str(exc.__cause__ or "").strip()
        text += f": {cause}" if cause else ""
    else:
        text = f"{kind}: {exc.message}"
    if secret:
        text = text.replace(secret, "[key]")
    text = _KEY_SHAPED.sub("[key]", " ".join(text.split()))
    return text[:MAX_FAILURE_TEXT]


def response_usage(response: Message, price: ModelPrice) -> LlmUsage:
    u = response.usage
    usage = LlmUsage(
        requests=1,
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cache_read_tokens=u.cache_read_input_tokens or 0,
        cache_creation_tokens=u.cache_creation_input_tokens or 0,
    )
    return usage.model_copy(update={"cost_usd": request_cost(usage, price)})


def _first(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "proposal"
    return f"{where}: {first['msg']}"


def _tool_errors(calls: list[Any], submit_id: str, error: str) -> dict[str, Any]:
    """Every tool_use needs a tool_result; the submission's says what to fix."""
    results = []
    for call in calls:
        text = (
            f"proposal rejected, fix it and call submit_proposal again: {error}"
            if call.id == submit_id
            else "not run: a proposal was submitted in the same turn"
        )
        results.append(
            {"type": "tool_result", "tool_use_id": call.id, "content": text, "is_error": True}
        )
    return {"role": "user", "content": results}


def raise_if_replay_miss(exc: Exception, number: int) -> None:
    """A replayed cassette without this request must stop the run, not read as an outage."""
    cause = exc.__cause__
    if cause is not None and type(cause).__name__ == "CannotOverwriteExistingCassetteException":
        lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
        detail = lines[0] if lines else "no recorded interaction matches it"
        raise ReplayMismatchError(
            f"cassette has no answer for LLM request #{number} (POST /v1/messages): {detail} "
            "(the replay left the recording: re-record the cassette with a key, or replay the "
            "same market, window and settings)"
        )


def make_claude_analyst(
    api_key: str,
    *,
    model: str,
    max_tokens: int,
    timeout: float,
    max_retries: int,
    price: ModelPrice,
    spend: SpendLedger,
    base_url: str | None = None,
) -> ClaudeAnalyst:
    """A Claude analyst on the official SDK; without `base_url`, the SDK honours
    ANTHROPIC_BASE_URL itself."""
    import anthropic

    client = anthropic.Anthropic(
        api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
    )
    return ClaudeAnalyst(client, model=model, max_tokens=max_tokens, price=price, spend=spend)


__all__ = ["SUBMIT_TOOL", "ClaudeAnalyst", "make_claude_analyst"]
