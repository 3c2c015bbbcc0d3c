"""Read-only research the model may call during a cycle, and how each call is answered.

The tools are the "research" scope of `tools.tool_catalog.TOOLBOX`: every one reads the history
as of now (closed candles only) or the situation memory's point-in-time recall; none can place
an order, change a limit or reach the network. Results go back as JSON in a tool_result: data
for the model, never instructions. A bad call is answered with the error, flagged `is_error`, so
the model can correct itself within its round budget.
"""

from __future__ import annotations

from typing import Any

from agents.base import ResearchContext
from core.types import Brief
from tools.registry import ToolContext
from tools.tool_catalog import TOOLBOX

RESEARCH_TOOLS: list[dict[str, Any]] = TOOLBOX.definitions(scope="research")
"""What every request offers, before submit_proposal: recorded cassettes pin it byte for byte."""
RESEARCH_NAMES = frozenset(TOOLBOX.names(scope="research"))


def run_research_tool(
    call_id: str, name: str, payload: object, brief: Brief, research: ResearchContext
) -> dict[str, Any]:
    """The tool_result block answering one tool_use block."""
    context = ToolContext(research=research, brief=brief)
    outcome = TOOLBOX.call(name, payload, context, scope="research")
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": call_id,
        "content": outcome.content(),
    }
    if not outcome.ok:
        if name not in RESEARCH_NAMES:
            block["content"] += ", or call submit_proposal to finish"
        block["is_error"] = True
    return block
