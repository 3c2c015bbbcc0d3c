"""The chat graph, assembled in one place (beside `graphs.decision`'s decision cycle)."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from graphs.chat.state import ChatDeps, ChatState
from graphs.chat.steps import TurnSteps
from graphs.chat.trade_steps import AWAIT, TradeSteps


def build_chat_graph(deps: ChatDeps, checkpointer: Any) -> Any:
    """receive -> slash | call | model <-> tools; a proposal (`/trade`, the model's
    propose_trade, a surface's `propose`) -> validate -> record -> await_approval (a person)
    -> execute -> record.

    Every turn ends in record (its trace, its last event). A denied proposal goes back to the
    model, which must answer without proposing again, or ends a `/trade`; an approved one
    ends the turn at await_approval, checkpointed until approve, reject or expiry resumes it,
    in this process or another."""
    turn, trade = TurnSteps(deps), TradeSteps(deps)
    graph = StateGraph(ChatState)
    graph.add_node("receive", turn.receive)
    graph.add_node("slash", turn.slash)
    graph.add_node("call", turn.call)
    graph.add_node("model", turn.model)
    graph.add_node("tools", turn.tools)
    graph.add_node("validate", trade.validate)
    graph.add_node("record", trade.record)
    graph.add_node(AWAIT, trade.await_approval)
    graph.add_node("execute", trade.execute)
    graph.add_edge(START, "receive")
    graph.add_conditional_edges("receive", turn.route_input, ["slash", "call", "validate", "model"])
    graph.add_edge("call", "record")
    graph.add_conditional_edges("slash", turn.route_slash, ["validate", "record"])
    graph.add_conditional_edges("model", turn.route_model, ["tools", "record"])
    graph.add_conditional_edges("tools", turn.route_tools, ["validate", "model"])
    graph.add_conditional_edges("validate", trade.route_validate, ["record", "model"])
    graph.add_conditional_edges("record", trade.route_record, [AWAIT, END])
    graph.add_edge(AWAIT, "execute")
    graph.add_edge("execute", "record")
    return graph.compile(checkpointer=checkpointer)
