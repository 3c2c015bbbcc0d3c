"""Delivery off the trading thread: a bounded queue and a sender thread per channel.

`notify` only appends to a queue, so a cycle never waits on the network; a full queue drops
its oldest notice (counted). The sender tries each notice a few times with doubling waits,
then gives it up with one logged line. Closing waits, up to a timeout, for the queue to empty.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import httpx

from core.notifications import SEVERITY_RANK, Notice
from core.notify_settings import ChannelSettings
from tools.notify.channels import Channel, DeliveryError
from tools.notify.redaction import RedactingFilter, redact

log = logging.getLogger(__name__)


def wanted(settings: ChannelSettings, notice: Notice) -> bool:
    """Whether a channel's filters let the notice through: its event, its severity at least
    the channel's minimum, and its symbol (a notice about no symbol passes)."""
    if notice.event not in settings.events:
        return False
    if SEVERITY_RANK[notice.severity] < SEVERITY_RANK[settings.min_severity]:
        return False
    return not settings.symbols or notice.symbol is None or notice.symbol in settings.symbols


class ChannelSender:
    def __init__(
        self,
        channel: Channel,
        *,
        queue_size: int,
        attempts: int,
        backoff_seconds: float,
    ) -> None:
        self.channel = channel
        self.attempts, self.backoff = attempts, backoff_seconds
        self.queue: deque[Notice] = deque()
        self.queue_size = queue_size
        self.dropped_full = 0
        self.given_up = 0
        self.delivered = 0
        self._ready = threading.Condition()
        self._busy = False
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"notify-{channel.name}", daemon=True
        )
        self._thread.start()

    def put(self, notice: Notice) -> None:
        with self._ready:
            if len(self.queue) >= self.queue_size:
                self.queue.popleft()
                self.dropped_full += 1
            self.queue.append(notice)
            self._ready.notify()

    def close(self, timeout: float) -> None:
        """Waits up to `timeout` for the queue to empty, then stops the thread; what is left
        is dropped with one line."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while (self.queue or self._busy) and time.monotonic() < deadline:
                self._ready.wait(max(0.0, min(0.05, deadline - time.monotonic())))
            left = len(self.queue)
            self.queue.clear()
            self._closing.set()
            self._ready.notify_all()
        self._thread.join(max(0.0, deadline - time.monotonic()) + 0.1)
        if left or self.dropped_full:
            log.warning(
                "notify %s: %d notice(s) not sent at close, %d dropped on a full queue",
                self.channel.name,
                left,
                self.dropped_full,
            )

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self.queue and not self._closing.is_set():
                    self._ready.wait()
                if self._closing.is_set():
                    return
                notice = self.queue.popleft()
                self._busy = True
            try:
                self._deliver(notice)
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify_all()

    def _deliver(self, notice: Notice) -> None:
        wait = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                self.channel.send(notice)
            except DeliveryError as exc:
                why = redact(str(exc), self.channel.secrets)
                if not exc.retry or attempt == self.attempts:
                    self.given_up += 1
                    log.warning(
                        "notify %s: gave up on %r after %d attempt(s): %s",
                        self.channel.name,
                        notice.title,
                        attempt,
                        why,
                    )
                    return
                if self._closing.wait(wait):
                    self.given_up += 1
                    log.warning(
                        "notify %s: gave up on %r at close, after %d attempt(s): %s",
                        self.channel.name,
                        notice.title,
                        attempt,
                        why,
                    )
                    return
                wait *= 2
            else:
                self.delivered += 1
                return


class Notifications:
    """The `Notifier` the runtime is given: each notice goes to every channel whose filters
    want it. Use as a context manager, or call `close`."""

    def __init__(
        self,
        senders: list[tuple[ChannelSettings, ChannelSender]],
        client: httpx.Client | None,
        close_timeout: float,
    ) -> None:
        self.senders, self.client, self.close_timeout = senders, client, close_timeout
        secrets = [s for _, sender in senders for s in sender.channel.secrets]
        self._filter = RedactingFilter(secrets)
        logging.getLogger("httpx").addFilter(self._filter)
        logging.getLogger("httpcore").addFilter(self._filter)

    def notify(self, notice: Notice) -> None:
        for settings, sender in self.senders:
            if wanted(settings, notice):
                sender.put(notice)

    def close(self) -> None:
        deadline = time.monotonic() + self.close_timeout
        for _, sender in self.senders:
            sender.close(max(0.0, deadline - time.monotonic()))
        if self.client is not None:
            self.client.close()
        logging.getLogger("httpx").removeFilter(self._filter)
        logging.getLogger("httpcore").removeFilter(self._filter)

    def __enter__(self) -> Notifications:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
