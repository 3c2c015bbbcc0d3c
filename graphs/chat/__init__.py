"""The chat: strategy questions answered from the agent's own tools, with a person approving
any trade. One `ChatService` (see `contract`) is driven by every surface: the terminal
(`tradegraph chat`, `ask`), HTTP (`tradegraph serve`) and MCP (`tradegraph mcp`)."""
