"""Every tool a model may be offered, in one registry: the Claude analyst's research tools
come from it (scope "research"), and so will the chat's.

Adding a tool is one `TOOLBOX.register(...)` call; registering checks the rules every tool
keeps (one-line description, frozen and bounded input), so a tool breaking them fails at import.
"""

from __future__ import annotations

from tools.market_toolset import MARKET_TOOLSET
from tools.registry import ToolRegistry
from tools.research_toolset import RESEARCH_TOOLSET


def build_toolbox() -> ToolRegistry:
    """A registry holding the research tools, then the market tools."""
    registry = ToolRegistry()
    for tool in (*RESEARCH_TOOLSET, *MARKET_TOOLSET):
        registry.register(tool)
    return registry


TOOLBOX = build_toolbox()
