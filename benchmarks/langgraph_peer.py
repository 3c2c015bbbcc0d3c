"""The peer every engine benchmark is measured against: a bare LangGraph graph of the decision
cycle's shape (the same steps, the conditional edge after validate) whose nodes do nothing.

The machines these benchmarks run on are shared and noisy, so an absolute figure says little on
its own; the ratio of the engine's rate to this peer's, timed in the same run, is the honest
measure of what the engine adds to LangGraph's own machinery.
"""

from __future__ import annotations

import itertools
import time
from typing import TypedDict


def bare_langgraph(cycles: int) -> float:
    """Invokes/s of a graph shaped like the decision cycle whose nodes do nothing."""
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict, total=False):
        seq: int
        approved: bool

    graph = StateGraph(State)
    from graphs.decision import STEPS

    names = list(STEPS)
    for name in names:
        graph.add_node(name, lambda state: {"approved": False})
    graph.add_edge(START, "observe")
    for a, b in itertools.pairwise(names[: names.index("validate") + 1]):
        graph.add_edge(a, b)
    graph.add_conditional_edges(
        "validate", lambda s: "execute" if s["approved"] else "record", ["execute", "record"]
    )
    graph.add_edge("execute", "record")
    graph.add_edge("record", END)
    app = graph.compile()
    started = time.perf_counter()
    for seq in range(cycles):
        app.invoke({"seq": seq})
    return cycles / (time.perf_counter() - started)


def bare_langgraph_around(cycles: int, run: object) -> tuple[float, object]:
    """The peer timed for half of `cycles` before `run()` and half after, so a machine whose
    load drifts during the run weighs on both sides alike; (invokes/s, what `run` returned)."""
    assert callable(run)
    first = max(1, cycles // 2)
    second = max(1, cycles - first)
    before = first / bare_langgraph(first)
    result = run()
    after = second / bare_langgraph(second)
    return (first + second) / (before + after), result
