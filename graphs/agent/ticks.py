"""One wake-up of an agent as a small LangGraph graph on the checkpointer, one thread per agent.

    wake -> decide SYMBOL_1 -> ... -> decide SYMBOL_n -> done

LangGraph saves the thread's state after every step, so a process killed at any moment is
restarted from the last completed step: a symbol decided before the kill is not decided
again (no second trace), the one interrupted is decided again (its order id is derived from
the account, symbol and candle, so the broker finds the order it may have sent and sends no
second), and the ones after it carry on. A wake-up whose candle is no longer the latest when
the agent is back is closed as missed instead: nothing is traded late.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypedDict

from langgraph.graph import END, START, StateGraph


class TickState(TypedDict, total=False):
    close_ms: int
    """The candle close this wake-up serves (market time)."""
    last_close_ms: int | None
    """The last close whose wake-up completed."""
    decisions: int
    missed: int


class TickSteps(Protocol):
    def wake(self, state: TickState) -> dict[str, Any]: ...

    def decide(self, symbol: str, state: TickState) -> dict[str, Any]: ...

    def done(self, state: TickState) -> dict[str, Any]: ...


def build_tick_graph(steps: TickSteps, symbols: Sequence[str], checkpointer: Any) -> Any:
    graph = StateGraph(TickState)
    graph.add_node("wake", steps.wake)
    previous = "wake"
    graph.add_edge(START, previous)
    for symbol in symbols:
        name = f"decide {symbol}"
        graph.add_node(name, _deciding(steps, symbol))  # type: ignore[arg-type]
        graph.add_edge(previous, name)
        previous = name
    graph.add_node("done", steps.done)
    graph.add_edge(previous, "done")
    graph.add_edge("done", END)
    return graph.compile(checkpointer=checkpointer)


def _deciding(steps: TickSteps, symbol: str) -> Callable[[TickState], dict[str, Any]]:
    def decide(state: TickState) -> dict[str, Any]:
        return steps.decide(symbol, state)

    return decide


def thread(name: str) -> dict[str, Any]:
    """The checkpointer thread of agent `name`."""
    return {"configurable": {"thread_id": f"agent:{name}"}}
