"""The decision graph of DESIGN.md, assembled in one place."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from langgraph.graph import END, START, StateGraph

from graphs.cycle_ports import CycleDeps
from graphs.nodes import CycleSteps, timed
from graphs.state import CycleState

STEPS = (
    "observe", "settle", "learn", "features", "recall", "analyze", "validate", "execute", "record",
)  # fmt: skip


def build_decision_graph(deps: CycleDeps, checkpointer: Any = False, *, dry: bool = False) -> Any:
    """observe -> settle -> learn -> features -> recall -> analyze -> validate
    -> (execute ->) record: execute only for an approved order.

    Not checkpointed by default, not even inside an agent's checkpointed wake-up (LangGraph
    would otherwise save every step of every cycle as a subgraph's): a cycle is the unit a
    restart redoes, its trace the record it leaves.

    `dry`: the graph has no execute step, so an approved order is only recorded as the
    verdict (the chat's "what would it do now": DESIGN.md's dry cycle, no broker)."""
    steps = CycleSteps(deps)
    graph = StateGraph(CycleState)
    for name in STEPS:
        if dry and name == "execute":
            continue
        graph.add_node(name, timed(name, getattr(steps, name)))  # type: ignore[call-overload]
    graph.add_edge(START, "observe")
    graph.add_edge("observe", "settle")
    graph.add_edge("settle", "learn")
    graph.add_edge("learn", "features")
    graph.add_edge("features", "recall")
    graph.add_edge("recall", "analyze")
    graph.add_edge("analyze", "validate")
    if dry:
        graph.add_edge("validate", "record")
    else:
        routes: dict[Hashable, str] = {"execute": "execute", "record": "record"}
        graph.add_conditional_edges("validate", steps.route, routes)
        graph.add_edge("execute", "record")
    graph.add_edge("record", END)
    return graph.compile(checkpointer=checkpointer)
