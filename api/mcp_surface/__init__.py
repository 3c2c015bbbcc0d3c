"""The chat as an MCP server: `tradegraph mcp` over stdio, and `/mcp` on `tradegraph serve`
over streamable HTTP. Named `mcp_surface` so that `import mcp` is always the official SDK."""
