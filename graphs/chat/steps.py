"""The steps of a chat turn before any trade: read the input, answer a slash command from its
tool, or converse with the model and run the tools it calls.

Each step streams what it does as `ChatEvent`s through LangGraph's stream writer (tokens as the
model writes them, each tool call and its result) and returns its update of the thread's
state. A tool's result reaches the model as data, cut to `max_result_chars`; a bad call is one
error line the model can act on. The model gets at most `max_tool_rounds` rounds of tool
results in a turn, then it must answer without tools.
"""

from __future__ import annotations

import json
import time
from typing import Any

from langgraph.config import get_stream_writer
from pydantic import ValidationError

from core.errors import UserError
from graphs.chat.contract import ChatEvent
from graphs.chat.desk import TradeIdea
from graphs.chat.model_port import NO_MODEL, ChatModelError
from graphs.chat.rendering import render_result
from graphs.chat.slash import SlashCall, SlashHelp, is_slash, parse_slash
from graphs.chat.state import ChatDeps, ChatState
from tools.registry import input_schema

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")
"""What a turn's usage counts, per model reply (the budgets count every one of them)."""
PROPOSE_TRADE = "propose_trade"
PROPOSE_TRADE_TOOL = {
    "name": PROPOSE_TRADE,
    "description": (
        "Propose a spot trade on the account. The risk validator checks it and a person must "
        "approve it before anything is placed; a denial is final for this turn."
    ),
    "input_schema": input_schema(TradeIdea),
}


def emit(thread: str, kind: str, **fields: Any) -> None:
    """Stream one event of the turn to whoever drives the graph."""
    event = ChatEvent(kind=kind, thread=thread, **fields)
    get_stream_writer()(event.model_dump(mode="json"))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class TurnSteps:
    def __init__(self, deps: ChatDeps) -> None:
        self.d = deps

    def receive(self, state: ChatState) -> dict[str, Any]:
        """A new turn: the person's text joins the history; the last turn's leftovers go."""
        turn = state["turn"]
        said = {"role": "user", "text": turn["text"], "at_ms": turn["at_ms"]}
        return {
            "history": [*state.get("history", []), said],
            "calls": [],
            "held": [],
            "idea": None,
            "idea_call": None,
            "pending": None,
            "decision": None,
            "outcome": None,
        }

    @staticmethod
    def route_input(state: ChatState) -> str:
        return "slash" if is_slash(state["turn"]["text"]) else "model"

    def slash(self, state: ChatState) -> dict[str, Any]:
        turn = {**state["turn"], "kind": "slash"}
        try:
            command = parse_slash(turn["text"])
        except UserError as exc:
            return {"turn": {**turn, "error": str(exc)}}
        if isinstance(command, SlashHelp):
            return {"turn": {**turn, "answer": command.text}}
        if not isinstance(command, SlashCall):
            return {"turn": turn, "idea": command.idea.model_dump(mode="json"), "idea_call": None}
        thread = state["thread"]
        outcome, record = self._run_tool(thread, command.tool, command.input, f"/{command.command}")
        turn["calls"] = [*turn.get("calls", []), record]
        if outcome.error is not None:
            return {"turn": {**turn, "error": outcome.error}}
        assert outcome.result is not None
        answer = render_result(command.tool, outcome.result)
        answer = f"({command.note})\n{answer}" if command.note else answer
        return {"turn": {**turn, "answer": answer}}

    @staticmethod
    def route_slash(state: ChatState) -> str:
        return "validate" if state.get("idea") is not None else "record"

    def model(self, state: ChatState) -> dict[str, Any]:
        """One model request with the thread's conversation; its text streams as tokens."""
        d, thread = self.d, state["thread"]
        turn = dict(state["turn"])
        if d.model is None:
            return {"turn": {**turn, "error": NO_MODEL}}
        spent = d.spend.spent(state.get("tokens_used", 0), state.get("cost_usd", 0.0))
        if spent is not None:
            return {"turn": {**turn, "error": spent}}
        messages = list(state.get("messages", []))
        if turn.get("rounds", 0) == 0:
            messages.append({"role": "user", "content": turn["text"]})
        last_round = turn.get("rounds", 0) >= d.limits.max_tool_rounds
        tools = [] if last_round else self._definitions()
        started = time.perf_counter()
        try:
            reply = d.model.step(
                d.system, messages, tools, lambda text: emit(thread, "token", text=text)
            )
        except ChatModelError as exc:  # one line already, no secret in it
            return {"turn": {**turn, "error": f"the model failed: {exc}"}, "messages": messages}
        except Exception as exc:  # a bug in a model: one line, and the thread goes on
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            line = f"the model failed ({type(exc).__name__}{': ' + reason if reason else ''})"
            return {"turn": {**turn, "error": line[:300] + "; try again"}, "messages": messages}
        tokens = reply.tokens
        d.spend.add(tokens, reply.cost_usd)
        usage = dict(turn.get("usage", {}))
        usage["requests"] = usage.get("requests", 0) + 1
        for field in TOKEN_FIELDS:
            usage[field] = usage.get(field, 0) + getattr(reply, field)
        usage["cost_usd"] = round(usage.get("cost_usd", 0.0) + reply.cost_usd, 6)
        usage["model_ms"] = round(
            usage.get("model_ms", 0.0) + (time.perf_counter() - started) * 1000, 3
        )
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        content += [
            {"type": "tool_use", "id": c.call_id, "name": c.name, "input": c.input}
            for c in reply.tool_calls
        ]
        empty = [{"type": "text", "text": "(no answer)"}]  # the API refuses an empty text block
        messages.append({"role": "assistant", "content": content or empty})
        update: dict[str, Any] = {
            "messages": messages,
            "tokens_used": state.get("tokens_used", 0) + tokens,
            "cost_usd": round(state.get("cost_usd", 0.0) + reply.cost_usd, 6),
            "calls": [c.model_dump(mode="json") for c in reply.tool_calls],
        }
        turn["usage"] = usage
        if not reply.tool_calls:
            turn["answer"] = reply.text
        update["turn"] = turn
        return update

    @staticmethod
    def route_model(state: ChatState) -> str:
        turn = state["turn"]
        if turn.get("error") or "answer" in turn:
            return "record"
        return "tools"

    def tools(self, state: ChatState) -> dict[str, Any]:
        """Run the calls of the model's reply; a proposal among them goes to the validator,
        its result held (with the others') until the verdict or a person's decision."""
        thread, turn = state["thread"], dict(state["turn"])
        results: list[dict[str, Any]] = []
        idea: dict[str, Any] | None = None
        idea_call: str | None = None
        for call in state.get("calls", []):
            if call["name"] == PROPOSE_TRADE:
                refusal = self._proposal_refusal(turn, idea_call)
                if refusal is None:
                    try:
                        idea = TradeIdea.model_validate(call["input"]).model_dump(mode="json")
                        idea_call = call["call_id"]
                        continue
                    except ValidationError as exc:
                        first = exc.errors()[0]
                        where = ".".join(str(p) for p in first["loc"]) or "input"
                        refusal = f"invalid input at {where}: {first['msg']}"
                results.append(tool_result_block(call["call_id"], refusal, error=True))
                continue
            outcome, record = self._run_tool(thread, call["name"], call["input"], call["call_id"])
            turn["calls"] = [*turn.get("calls", []), record]
            results.append(
                tool_result_block(call["call_id"], self._for_model(outcome), error=not outcome.ok)
            )
        if idea is not None:
            return {"turn": turn, "held": results, "idea": idea, "idea_call": idea_call}
        turn["rounds"] = turn.get("rounds", 0) + 1
        messages = [*state.get("messages", []), {"role": "user", "content": results}]
        return {"turn": turn, "messages": messages, "calls": []}

    @staticmethod
    def route_tools(state: ChatState) -> str:
        return "validate" if state.get("idea") is not None else "model"

    def _proposal_refusal(self, turn: dict[str, Any], idea_call: str | None) -> str | None:
        if turn.get("role") == "viewer":
            return "refused: the person asking has a viewer's role, which cannot propose trades"
        if turn.get("denied"):
            return (
                "refused: the risk validator denied a proposal in this turn and its verdict "
                "stands; tell the trader, do not propose again"
            )
        if idea_call is not None:
            return "refused: one proposal at a time"
        return None

    def _definitions(self) -> list[dict[str, Any]]:
        tools = self.d.tools.definitions()
        if all(t["name"] != PROPOSE_TRADE for t in tools):
            tools = [*tools, PROPOSE_TRADE_TOOL]
        return tools

    def _run_tool(
        self, thread: str, name: str, payload: dict[str, Any], call_id: str
    ) -> tuple[Any, dict[str, Any]]:
        emit(thread, "tool_call", tool=name, call_id=call_id, data=payload)
        outcome = self.d.tools.call(name, payload)
        if outcome.ok:
            emit(thread, "tool_result", tool=name, call_id=call_id, data=outcome.result)
        else:
            emit(thread, "tool_result", tool=name, call_id=call_id, text=outcome.error)
        record = {
            "call_id": call_id,
            "name": name,
            "input": payload,
            "ok": outcome.ok,
            "result_chars": len(outcome.content()) if outcome.ok else 0,
            "error": outcome.error or "",
        }
        return outcome, record

    def _for_model(self, outcome: Any) -> str:
        """The result as the model reads it: JSON, cut to the configured size, saying so."""
        text: str = outcome.content()
        limit = self.d.limits.max_result_chars
        if len(text) <= limit:
            return text
        return text[:limit] + f"... [cut: {len(text):,} characters in all; ask for less]"


def tool_result_block(call_id: str, content: str, *, error: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": content}
    if error:
        block["is_error"] = True
    return block


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
