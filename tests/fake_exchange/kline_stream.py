"""Binance's kline WebSocket, faked on 127.0.0.1, for a real ccxt.pro binance to stream from.

ccxt.pro connects, sends its `SUBSCRIBE` request and parses the frames with its own client and
`handle_ohlcv`, exactly as online; the test pushes frames (`push`) and can drop every connection
(`drop`) to see the feed fall back to REST. aiohttp (a ccxt dependency) serves the socket on an
event loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Sequence
from typing import Any

from aiohttp import WSMsgType, web

from core.types import timeframe_seconds


class FakeKlineStream:
    """`url` is the base ccxt.pro binance's `urls['api']['ws']['spot']` should be set to."""

    def __init__(self) -> None:
        self.subscriptions: list[str] = []
        self.subscribed = threading.Event()
        self.frames_sent = 0
        self._clients: set[web.WebSocketResponse] = set()
        self._loop = asyncio.new_event_loop()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        # The path holds "/stream", as Binance's spot host does: ccxt.pro reads spot from it.
        self.url = f"ws://127.0.0.1:{self._sock.getsockname()[1]}/stream/ws"
        self._runner: web.AppRunner | None = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        started.wait(5)

    def push(self, market_id: str, interval: str, row: Sequence[Any], *, closed: bool) -> None:
        """Sends a kline frame for (open ms, o, h, l, c, v) to every subscriber."""
        ts, o, h, low, c, v = row[:6]
        end = int(ts) + timeframe_seconds(interval) * 1000 - 1
        kline = {"t": int(ts), "T": end, "s": market_id, "i": interval, "f": 1, "L": 2,
                 "o": str(o), "c": str(c), "h": str(h), "l": str(low), "v": str(v), "n": 2,
                 "x": closed, "q": "0", "V": "0", "Q": "0", "B": "0"}  # fmt: skip
        frame = json.dumps({"e": "kline", "E": int(ts), "s": market_id, "k": kline})
        self._call(self._broadcast(frame))

    def drop(self) -> None:
        """Closes every connection, as a network blip or a server restart does."""
        self._call(self._drop())

    def close(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(5)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.SockSite(self._runner, self._sock)
        self._loop.run_until_complete(site.start())
        started.set()
        self._loop.run_forever()
        self._loop.close()

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._clients.add(ws)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                body = json.loads(message.data)
                if body.get("method") == "SUBSCRIBE":
                    self.subscriptions.extend(body.get("params", []))
                    await ws.send_str(json.dumps({"result": None, "id": body.get("id")}))
                    self.subscribed.set()
        finally:
            self._clients.discard(ws)
        return ws

    async def _broadcast(self, frame: str) -> None:
        for ws in list(self._clients):
            await ws.send_str(frame)
            self.frames_sent += 1

    async def _drop(self) -> None:
        self.subscribed.clear()
        for ws in list(self._clients):
            await ws.close()

    async def _shutdown(self) -> None:
        await self._drop()
        if self._runner is not None:
            await self._runner.cleanup()
