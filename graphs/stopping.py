"""Stopping a run between cycles: Ctrl-C (SIGINT) and SIGTERM (what `timeout`, systemd and
Docker send) ask the node to stop before its next cycle, so a cycle is never cut between an
order and its trace, the buffered traces are written and the summary is kept. A second
signal interrupts at once."""

from __future__ import annotations

import signal
import threading
from typing import Any, Protocol


class StopSignal(Protocol):
    @property
    def requested(self) -> bool: ...


class StopBetweenCycles:
    """Turns the first SIGINT or SIGTERM into a request to stop before the next cycle; the
    second raises KeyboardInterrupt. Signals can only be handled on the main thread:
    elsewhere they keep their usual effect."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.signal_name = signal.Signals(signum).name

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number."""
        return 128 + (signal.SIGTERM if self.signal_name == "SIGTERM" else signal.SIGINT)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}
