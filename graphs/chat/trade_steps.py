"""The steps of a chat turn that touch a trade, and the one that ends every turn.

validate: the idea through `risk.validate` (the desk's path), shown with its checks. A denial
is final: a model's proposal gets the verdict as its tool result and must answer without
proposing again; a `/trade` ends its turn on it. An approval ends the turn too, and
await_approval holds the thread (LangGraph `interrupt()`, checkpointed) until a person
approves, rejects, or lets it expire. execute: on approve, the desk validates again at that
moment and places the order; on reject or expiry, nothing is traded. record: the turn's trace
in its thread's chain, its answer in the history, and its last event.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from langgraph.graph import END
from langgraph.types import interrupt

from core.errors import UserError
from core.types import TradingState, VerdictKind
from graphs.chat.audit import ToolRun, TurnRecord
from graphs.chat.contract import PendingApproval
from graphs.chat.desk import TradeIdea
from graphs.chat.execution import Execution, trade_proposal
from graphs.chat.rendering import render_approval
from graphs.chat.state import ChatDeps, ChatState
from graphs.chat.steps import PROPOSE_TRADE, as_json, emit, now_ms, tool_result_block

AWAIT = "await_approval"


def approval_id_for(thread: str, at_ms: int, position: int) -> str:
    """A proposal's approval id: from its thread, the moment it was asked and its place in
    the thread's history, so unique per thread and turn, and the same when the same turn is
    asked again at the same moment (a replayed conversation sends the same bytes)."""
    digest = hashlib.sha256(f"{thread}|{at_ms}|{position}".encode()).hexdigest()
    return f"ap-{digest[:12]}"


class TradeSteps:
    def __init__(self, deps: ChatDeps) -> None:
        self.d = deps

    def validate(self, state: ChatState) -> dict[str, Any]:
        thread, turn = state["thread"], dict(state["turn"])
        idea, call_id = state["idea"] or {}, state.get("idea_call")
        approval_id = approval_id_for(thread, turn["at_ms"], len(state.get("history", [])))
        try:
            pending = self.d.trading.propose(idea, thread=thread, approval_id=approval_id)
        except (ValueError, UserError) as exc:
            if call_id is None:
                return {"turn": {**turn, "error": str(exc)}, "idea": None}
            return self._back_to_model(state, turn, str(exc), error=True)
        dump = pending.model_dump(mode="json")
        if pending.approved_by_validator or call_id is None:
            return {"turn": turn, "pending": dump}
        emit(thread, "tool_result", tool=PROPOSE_TRADE, call_id=call_id, data=dump)
        turn["denied"] = True
        turn["verdicts"] = [*turn.get("verdicts", []), dump]
        return self._back_to_model(state, turn, render_approval(pending), error=False)

    def _back_to_model(
        self, state: ChatState, turn: dict[str, Any], text: str, *, error: bool
    ) -> dict[str, Any]:
        """The proposal's verdict as its tool result, with the others held, then the model."""
        call_id = state.get("idea_call") or ""
        results = [*state.get("held", []), tool_result_block(call_id, text, error=error)]
        turn["rounds"] = turn.get("rounds", 0) + 1
        messages = [*state.get("messages", []), {"role": "user", "content": results}]
        return {
            "turn": turn,
            "messages": messages,
            "held": [],
            "idea": None,
            "idea_call": None,
            "calls": [],
        }

    @staticmethod
    def route_validate(state: ChatState) -> str:
        return (
            "record" if state.get("pending") is not None or state["turn"].get("error") else "model"
        )

    def await_approval(self, state: ChatState) -> dict[str, Any]:
        """Hold the thread until a person decides; nothing before `interrupt` (it runs again
        on resume)."""
        decision = interrupt(state["pending"])
        turn = {
            "kind": decision["action"],
            "actor": decision["actor"],
            "role": decision["role"],
            "text": decision.get("reason", "") or decision["action"],
            "at_ms": decision["at_ms"],
        }
        pending = state.get("pending") or {}
        said = f"{decision['action']} {pending.get('approval_id', '')}"
        said += f": {decision['reason']}" if decision.get("reason") else ""
        history = [
            *state.get("history", []),
            {"role": "user", "text": said, "at_ms": decision["at_ms"]},
        ]
        return {"decision": decision, "turn": turn, "history": history}

    def execute(self, state: ChatState) -> dict[str, Any]:
        thread, turn = state["thread"], dict(state["turn"])
        pending = PendingApproval.model_validate(state["pending"])
        action = (state.get("decision") or {}).get("action", "expire")
        idea = state.get("idea") or {}
        if action != "approve":
            why = "rejected" if action == "reject" else "expired unanswered"
            by = f" by {turn['actor']}" if action == "reject" else ""
            answer = f"{pending.approval_id} {why}{by}: nothing was traded"
            return {"turn": {**turn, "answer": answer}}
        emit(thread, "tool_call", tool="place_order", call_id=pending.approval_id, data=idea)
        execution = self.d.trading.execute(pending, idea)
        dump = execution.model_dump(mode="json")
        emit(thread, "tool_result", tool="place_order", call_id=pending.approval_id, data=dump)
        run = {
            "call_id": pending.approval_id,
            "name": "place_order",
            "input": idea,
            "ok": execution.placed,
            "result_chars": len(as_json(dump)),
            "error": "" if execution.placed else execution.summary,
        }
        calls = [*turn.get("calls", []), run]
        return {"turn": {**turn, "calls": calls, "answer": execution.summary}, "outcome": dump}

    def record(self, state: ChatState) -> dict[str, Any]:
        """The turn's trace, its answer in the history and the model's conversation, and the
        turn's last event: the error, the approval asked for, or the answer."""
        thread, turn = state["thread"], state["turn"]
        pending = state.get("pending")
        awaiting = pending is not None and state.get("decision") is None
        trace = self.d.audit.record(self._turn_record(state))
        at = now_ms()
        update: dict[str, Any] = {"turn": {**turn, "trace": f"{trace.run_id}:{trace.seq}"}}
        history = list(state.get("history", []))
        if turn.get("error"):
            history.append({"role": "assistant", "text": turn["error"], "at_ms": at})
            emit(thread, "error", text=turn["error"])
        elif awaiting:
            shown = PendingApproval.model_validate(pending)
            history.append({"role": "assistant", "text": render_approval(shown), "at_ms": at})
            emit(thread, "approval", text=render_approval(shown), data=pending)
            if not shown.approved_by_validator:
                update["pending"] = None
        else:
            answer = turn.get("answer", "")
            history.append({"role": "assistant", "text": answer, "at_ms": at})
            update["messages"] = self._conversation(state, answer)
            update.update({"pending": None, "decision": None, "idea": None, "idea_call": None})
            update["held"] = []
            emit(thread, "answer", text=answer)
        update["history"] = history
        return update

    @staticmethod
    def route_record(state: ChatState) -> str:
        pending = state.get("pending")
        if pending is None or state.get("decision") is not None:
            return END
        return AWAIT if pending.get("approved_by_validator") else END

    def _conversation(self, state: ChatState, answer: str) -> list[dict[str, Any]]:
        """The model's conversation after the turn: a model proposal's held results and its
        outcome answered (so every tool_use has its tool_result), then the engine's answer."""
        messages = list(state.get("messages", []))
        call_id = state.get("idea_call")
        decision = state.get("decision")
        if call_id and decision is not None:
            outcome = state.get("outcome") or {"decided": decision["action"]}
            result = tool_result_block(call_id, f"{answer} {as_json(outcome)}"[:4000])
            messages.append({"role": "user", "content": [*state.get("held", []), result]})
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
        return messages

    def _turn_record(self, state: ChatState) -> TurnRecord:
        turn, thread = state["turn"], state["thread"]
        pending = state.get("pending")
        outcome = Execution.model_validate(state["outcome"]) if state.get("outcome") else None
        fields: dict[str, Any] = {}
        if outcome is not None:
            fields = {
                "symbol": outcome.proposal.symbol,
                "proposal": outcome.proposal,
                "verdict": VerdictKind.APPROVED if outcome.placed else VerdictKind.DENIED,
                "refusals": outcome.refusals,
                "order": outcome.order,
                "fills": outcome.fills,
                "trading_state": outcome.trading_state,
                "equity": outcome.equity,
            }
        elif pending is not None:
            shown = PendingApproval.model_validate(pending)
            fields = {
                "symbol": shown.symbol,
                "proposal": trade_proposal(shown, TradeIdea.model_validate(state["idea"])),
                "verdict": VerdictKind.DENIED if shown.refusal_codes else VerdictKind.APPROVED,
                "refusals": tuple(c.detail for c in shown.checks if not c.passed),
            }
            if "HALTED" in shown.refusal_codes:
                fields["trading_state"] = TradingState.HALTED
        elif turn.get("verdicts"):
            last = PendingApproval.model_validate(turn["verdicts"][-1])
            fields = {
                "symbol": last.symbol,
                "verdict": VerdictKind.DENIED,
                "refusals": tuple(c.detail for c in last.checks if not c.passed),
            }
        calls = tuple(ToolRun(**call) for call in turn.get("calls", []))
        started = turn.get("started")
        latency = {"turn": round(time.perf_counter() * 1000 - started, 3)} if started else {}
        if turn.get("usage", {}).get("model_ms"):
            latency["model"] = turn["usage"]["model_ms"]
        return TurnRecord(
            thread=thread,
            kind=turn.get("kind", "message"),
            actor=turn["actor"],
            role=turn["role"],
            text=turn["text"],
            at_ms=turn["at_ms"],
            answer=turn.get("error") or turn.get("answer", ""),
            calls=calls,
            model=self.d.model_name if turn.get("usage") else None,
            prompt_version=self.d.prompt_version if turn.get("usage") else None,
            usage=turn.get("usage", {}),
            latency_ms=latency,
            **fields,
        )
