"""`tradegraph mcp` on the command line, registered from here (the CLI module is long)."""

from __future__ import annotations

import typer


def register_mcp(app: typer.Typer) -> None:
    from api.mcp_surface.stdio import mcp

    app.command("mcp")(mcp)
