"""Every tool a model may be offered, in one registry: the Claude analyst's research tools
come from it (scope "research"), and so will the chat's.

Adding a tool is one `TOOLBOX.register(...)` call; registering checks the rules every tool
keeps (one-line description, frozen and bounded input), so a tool breaking them fails at import.
"""

from __future__ import annotations

from tools.grid_toolset import GRID_TOOLSET
from tools.market_toolset import MARKET_TOOLSET
from tools.multi_market_toolset import MULTI_MARKET_TOOLSET
from tools.quant_toolset import QUANT_TOOLSET
from tools.registry import ToolRegistry
from tools.research_toolset import RESEARCH_TOOLSET


def build_toolbox() -> ToolRegistry:
    """A registry holding the research tools, then the market tools."""
    registry = ToolRegistry()
    market = (*MARKET_TOOLSET, *GRID_TOOLSET, *QUANT_TOOLSET, *MULTI_MARKET_TOOLSET)
    for tool in (*RESEARCH_TOOLSET, *market):
        registry.register(tool)
    return registry


TOOLBOX = build_toolbox()
