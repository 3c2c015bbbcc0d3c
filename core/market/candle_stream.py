"""Candle updates pushed by an exchange's WebSocket (ccxt.pro `watch_ohlcv`), read synchronously.

The live feed is a plain iterator driven by the node's thread, while ccxt.pro is asyncio: the
stream runs its own event loop in a daemon thread and hands every candle update it receives to a
queue, so the feed can poll it without ever blocking on the network. Any failure of the stream
(no `watchOHLCV`, a dropped socket, an exchange error) ends the thread and is reported once
through `drain`, so the feed can fall back to REST polling; `close` cancels the watches and
closes the ccxt.pro exchange (its aiohttp session) inside the loop that opened it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from core.types import Candle, timeframe_seconds

Row = list[Any]
"""A ccxt OHLCV row: [open time ms, open, high, low, close, volume]."""


def complete_row(row: Sequence[Any]) -> bool:
    """Whether an exchange's row has every price (some send nulls for a candle in progress)."""
    return len(row) >= 6 and all(value is not None for value in row[:5])


def row_candle(row: Row) -> Candle:
    return Candle(
        ts=int(row[0]),
        open=float(row[1]),
        high=float(row[2]),
        low=float(row[3]),
        close=float(row[4]),
        volume=float(row[5] or 0.0),
    )


_CLOSE_TIMEOUT_S: Final = 5.0
_RECENT_PERIODS: Final = 2  # candles older than this are final: not passed on again


@dataclass(frozen=True)
class StreamUpdate:
    """One candle as the stream last described it (a forming candle is sent many times)."""

    symbol: str
    row: Row


class StreamEndedError(Exception):
    """The stream ended; `reason` is one line (exception type and message)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CandleStream:
    """`watch_ohlcv` for several symbols of one ccxt.pro exchange, on a private event loop."""

    def __init__(self, factory: Callable[[], Any], symbols: Sequence[str], timeframe: str) -> None:
        self._factory = factory
        self._symbols = tuple(symbols)
        self._timeframe = timeframe
        self._updates: queue.SimpleQueue[StreamUpdate | StreamEndedError] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="candle-stream", daemon=True)
        self._failed = False

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(_CLOSE_TIMEOUT_S)

    def drain(self) -> list[StreamUpdate]:
        """Updates received since the last call; raises StreamEndedError once the stream ended."""
        updates: list[StreamUpdate] = []
        while True:
            try:
                item = self._updates.get_nowait()
            except queue.Empty:
                return updates
            if isinstance(item, StreamEndedError):
                self._failed = True
                if updates:  # hand over what arrived first; the failure is still queued
                    self._updates.put(item)
                    return updates
                raise item
            updates.append(item)

    def close(self) -> None:
        """Stops watching and closes the exchange; safe to call twice or before `start`."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped on its own meanwhile
                loop.call_soon_threadsafe(task.cancel)
        if self._thread.is_alive():
            self._thread.join(_CLOSE_TIMEOUT_S)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._main())
            self._ready.set()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            self._ready.set()
            loop.close()

    async def _main(self) -> None:
        exchange: Any = None
        try:
            exchange = self._factory()
            if not exchange.has.get("watchOHLCV"):
                raise StreamEndedError(f"{exchange.id} does not stream candles (no watchOHLCV)")
            # With ccxt's default newUpdates, an in-place update of a candle can be left out of
            # what watch_ohlcv returns (a late, older candle shifts its count); the whole cache
            # is returned instead and only its recent tail is passed on.
            exchange.newUpdates = False
            await asyncio.gather(*(self._watch(exchange, s) for s in self._symbols))
        except asyncio.CancelledError:
            raise
        except StreamEndedError as failed:
            self._updates.put(failed)
        except Exception as exc:  # any failure means "use REST now"; the reason is reported
            self._updates.put(StreamEndedError(describe(exc)))
        finally:
            if exchange is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(exchange.close(), _CLOSE_TIMEOUT_S)

    async def _watch(self, exchange: Any, symbol: str) -> None:
        recent = _RECENT_PERIODS * timeframe_seconds(self._timeframe) * 1000
        while True:
            rows = await exchange.watch_ohlcv(symbol, self._timeframe)
            if not rows:
                continue
            newest = max(int(row[0]) for row in rows)
            for row in rows:
                if int(row[0]) >= newest - recent:
                    self._updates.put(StreamUpdate(symbol, list(row)))


def describe(exc: BaseException) -> str:
    """`NetworkError: message`, on one line and short enough for an event."""
    text = " ".join(str(exc).split())
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
