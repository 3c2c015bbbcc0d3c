"""Time of the chat's tools called over MCP, as a client sees it (the official SDK's client).

    .venv/bin/python benchmarks/bench_mcp.py [--rounds 7]

stdio: a real `tradegraph mcp` subprocess on a fresh data directory (the synthetic market, the
hashing embedder): the time from spawning it to an initialized session, then the median of
`--rounds` calls of `risk_status`, `portfolio` and a 90-day 1h `backtest_strategy`, and one
`propose_trade`. Each stdio call opens and closes the engine (the data directory is held only
while a call runs), so the same calls are then timed over streamable HTTP against an engine
held open (`mcp_http_app` under uvicorn on 127.0.0.1): the difference is what opening costs.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anyio
import httpx
import uvicorn
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from api.mcp_surface.http import mcp_http_app
from api.server.auth import Caller as Key
from core.settings import Settings
from graphs.chat.service import ChatEngine

TRADEGRAPH = Path(sys.executable).parent / "tradegraph"
ENV = {"TRADEGRAPH_MARKET": "synthetic:7", "TRADEGRAPH_MEMORY__EMBEDDING": "hashing"}
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("risk_status", {}),
    ("portfolio", {}),
    ("backtest_strategy", {"strategy": "bollinger", "timeframe": "1h", "days": 90}),
]
IDEA = {"symbol": "SYN/USDT", "side": "buy", "quantity": 1, "stop_price": 75}


async def timed_session(client: ClientSession, rounds: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, arguments in CALLS:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            result = await client.call_tool(name, arguments)
            times.append(time.perf_counter() - started)
            assert not result.isError, result.content
        figures[name] = statistics.median(times)
    started = time.perf_counter()
    proposal = await client.call_tool("propose_trade", IDEA)
    figures["propose_trade (once)"] = time.perf_counter() - started
    assert not proposal.isError, proposal.content
    return figures


async def over_stdio(data: Path, rounds: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEGRAPH_")} | ENV
    params = StdioServerParameters(
        command=str(TRADEGRAPH), args=["mcp", "--data-dir", str(data)], env=env
    )
    started = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        figures = {"spawn + initialize (once)": time.perf_counter() - started}
        return figures | await timed_session(client, rounds)


class Trader:
    """The caller `tradegraph serve` would let through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["caller"] = Key(name="bench", role="trader")
        await self.app(scope, receive, send)


def over_http(data: Path, rounds: int) -> dict[str, float]:
    settings = Settings(data_dir=data, market="synthetic:7", memory={"embedding": "hashing"})
    with ChatEngine(settings) as engine:
        app, sessions = mcp_http_app(engine)

        @asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            async with sessions():
                yield

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        served = Starlette(routes=[Mount("/mcp", Trader(app))], lifespan=lifespan)
        server = uvicorn.Server(uvicorn.Config(served, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp/"

        async def session() -> dict[str, float]:
            async with (
                httpx.AsyncClient(timeout=60) as http,
                streamable_http_client(url, http_client=http) as (read, write, _),
                ClientSession(read, write) as client,
            ):
                await client.initialize()
                return await timed_session(client, rounds)

        try:
            return anyio.run(session)
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as stdio_dir, tempfile.TemporaryDirectory() as http_dir:
        stdio = anyio.run(over_stdio, Path(stdio_dir), rounds)
        http = over_http(Path(http_dir), rounds)
    print(f"MCP tool calls, median of {rounds} (ms): stdio (engine opened per call) | HTTP")
    for name in stdio:
        beside = f"{http[name] * 1000:8.1f}" if name in http else "       -"
        print(f"  {name:<28} {stdio[name] * 1000:8.1f} | {beside}")


if __name__ == "__main__":
    main()
