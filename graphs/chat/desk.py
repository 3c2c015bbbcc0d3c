"""The chat's desk: every tool a chat turn may call, bound to one data directory, and the
validator's verdict on a trade proposed in the chat.

`chat_registry(desk)` holds the tools (scope "chat"): the toolbox's market tools with a market
selector, the audit trail (`why`, `search_decisions`), memory (`memory_search`), the account
(`risk_status`, `portfolio`, `orders_and_fills`), the agents (`list_agents`), a dry decision
cycle (`decide_now`) and evaluations (`run_eval`, `eval_job_status`). Each reads through the
desk; call them with `call_tool` (or `registry.call(name, payload, ToolContext())`). None of
them can change a limit, a mode or a breaker, or place an order: there is no tool for that.
A trade goes through `validate_proposal`, and then a person.
"""

from __future__ import annotations

from graphs.chat.desk_base import DEFAULT_ACCOUNT, ChatDesk, wall_clock_ms
from graphs.chat.desk_market import MarketSelector, market_tools
from graphs.chat.desk_proposals import (
    IdeaCheck,
    TradeIdea,
    chat_order_id,
    check_idea,
    validate_proposal,
)
from graphs.chat.desk_tools_account import account_tools
from graphs.chat.desk_tools_agents import agent_tools
from graphs.chat.desk_tools_audit import audit_tools
from graphs.chat.desk_tools_decide import decide_tools
from graphs.chat.desk_tools_eval import eval_tools
from tools.registry import ToolContext, ToolOutcome, ToolRegistry

__all__ = [
    "DEFAULT_ACCOUNT",
    "ChatDesk",
    "IdeaCheck",
    "MarketSelector",
    "TradeIdea",
    "call_tool",
    "chat_order_id",
    "chat_registry",
    "check_idea",
    "validate_proposal",
    "wall_clock_ms",
]


def chat_registry(desk: ChatDesk) -> ToolRegistry:
    """The chat's tools over `desk`, in the order a model is shown them."""
    registry = ToolRegistry()
    tools = (
        *market_tools(desk),
        *audit_tools(desk),
        *account_tools(desk),
        *agent_tools(desk),
        *decide_tools(desk),
        *eval_tools(desk),
    )
    for tool in tools:
        registry.register(tool)
    return registry


def call_tool(registry: ToolRegistry, name: str, payload: object) -> ToolOutcome:
    """One chat tool call: its result, or one error line (never an exception)."""
    return registry.call(name, payload, ToolContext(), scope="chat")
