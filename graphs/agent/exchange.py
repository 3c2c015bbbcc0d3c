"""An exchange market read one wake-up at a time: the candles closing then, through the same
feed a live run streams from (WebSocket first, REST polling when streaming fails, the next
exchange of `exchange:a,b` when one stops serving; each switch an event in the next trace).

A wake-up waits for its candles at most `patience_ms` after the close. When none came (the
feed is dead), the wake-up gets none: the agent's pulse says stalled, and the decisions on
its now old candles meet the stale-data breaker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.types import Candle, TraceEvent
from graphs.live_market import exchange_feed

if TYPE_CHECKING:
    from graphs.session import SessionPlan


class ExchangeTicks:
    decides_when_silent = True
    """A close with no candle still gets its cycles, on the last candles known: stale."""

    def __init__(
        self,
        plan: SessionPlan,
        on_event: Callable[[TraceEvent], None],
        *,
        patience_ms: int,
        stopping: Callable[[], bool],
    ) -> None:
        self.period_ms = plan.info.period_ms
        self._patience_ms = patience_ms
        self._stopping = stopping
        self._deadline_ms = 0.0
        self._on_event = on_event
        self.feed = exchange_feed(plan, on_event, self._give_up)

    def closed_at(self, close_ms: int) -> dict[str, Candle]:
        self._deadline_ms = close_ms + self._patience_ms
        self.feed.start_after(close_ms - 2 * self.period_ms)
        for close, candles in self.feed.closes():
            if close >= close_ms:
                return candles if close == close_ms else {}
        return {}

    def closed_between(self, after_ms: int, before_ms: int) -> list[tuple[int, dict[str, Candle]]]:
        """The candles that closed after `after_ms` and before `before_ms` (a late wake-up's
        history, by REST); none when the exchange cannot be asked now (an event says so)."""
        if before_ms - after_ms <= self.period_ms:
            return []
        try:
            series = self.feed.history(after_ms, before_ms - 2 * self.period_ms)
        except Exception as exc:  # ccxt's errors, whatever the exchange: history is a bonus
            self._on_event(
                TraceEvent(
                    ts=before_ms,
                    kind="history_gap",
                    detail=f"the candles missed could not be fetched ({type(exc).__name__})",
                )
            )
            return []
        by_close: dict[int, dict[str, Candle]] = {}
        for symbol, candles in series.items():
            for i in range(len(candles)):
                candle = candles.candle(i)
                by_close.setdefault(candle.ts + self.period_ms, {})[symbol] = candle
        return sorted(by_close.items())

    def _give_up(self) -> bool:
        return self._stopping() or time.time() * 1000 > self._deadline_ms
