"""What the chat may spend on its model: tokens and dollars per thread and per UTC day.

The thread's spend is in its checkpointed state; the day's, across threads and processes, in a
state store of the data directory (`chat_spend`). The limits come from the `chat` settings
only. A limit reached stops the next request (never one under way), so a budget is exceeded by
at most the one request that crossed it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from agents.budget import utc_today
from core.backends import StateStore
from core.settings import ChatSettings


class ChatSpend:
    def __init__(
        self,
        limits: ChatSettings,
        store: StateStore | None,
        *,
        today: Callable[[], str] = utc_today,
    ) -> None:
        self.limits = limits
        self._store = store
        self._today = today
        self._lock = threading.Lock()

    def spent(self, thread_tokens: int, thread_usd: float) -> str | None:
        """Why no further model request may go (one line), or None."""
        limits = self.limits
        if limits.thread_tokens is not None and thread_tokens >= limits.thread_tokens:
            return f"this thread used its {limits.thread_tokens:,} tokens: start a new thread"
        if limits.thread_usd is not None and thread_usd >= limits.thread_usd:
            return f"this thread spent its ${limits.thread_usd:,.2f}: start a new thread"
        tokens, usd = self.today()
        if limits.day_tokens is not None and tokens >= limits.day_tokens:
            return f"the chat used today's {limits.day_tokens:,} tokens: it resets at 00:00 UTC"
        if limits.day_usd is not None and usd >= limits.day_usd:
            return f"the chat spent today's ${limits.day_usd:,.2f}: it resets at 00:00 UTC"
        return None

    def add(self, tokens: int, usd: float) -> None:
        if self._store is None or (tokens == 0 and usd == 0):
            return
        with self._lock:
            day_tokens, day_usd = self.today()
            record = {"tokens": day_tokens + tokens, "usd": round(day_usd + usd, 6)}
            self._store.put(self._key(), json.dumps(record))

    def today(self) -> tuple[int, float]:
        if self._store is None:
            return 0, 0.0
        raw = self._store.get(self._key())
        if not raw:
            return 0, 0.0
        try:
            record = json.loads(raw)
            return int(record["tokens"]), float(record["usd"])
        except (ValueError, KeyError, TypeError):
            return 0, 0.0

    def _key(self) -> str:
        return f"day/{self._today()}"
