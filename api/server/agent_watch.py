"""The server watches the agents' pulses and tells the `[notify]` channels of an agent that
stalled without a word (its process gone, or its heartbeat stopped): `graphs.agent.stall_watch`
judges, this thread looks every heartbeat interval, over the server's data directory and each
served agent's (`served_agents/NAME/`).

Without channels nothing is watched; a channel whose secret is missing is one line at start
and the server serves all the same, as a halt is engaged all the same when it cannot be told.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from api.halts import served_roots
from core.errors import UserError
from core.notifications import Notifier
from core.settings import Settings
from graphs.agent.pulse import AgentPulse, all_pulses
from graphs.agent.stall_watch import StallWatch
from tools.notify import open_notifications

log = logging.getLogger(__name__)


def watched_pulses(root: Path) -> list[tuple[Path, AgentPulse]]:
    """Every agent's pulse, with its data directory: the server's, then each served agent's.
    A directory whose pulse cannot be read is skipped (`agent list` names the file)."""
    found: list[tuple[Path, AgentPulse]] = []
    for where in (root, *served_roots(root)):
        try:
            found.extend((where, pulse) for pulse in all_pulses(where))
        except UserError as exc:
            log.warning("agent pulses in %s not watched: %s", where, exc)
    return found


class AgentWatcher:
    """A daemon thread asking `StallWatch` about the pulses under `root` every `interval_s`."""

    def __init__(self, root: Path, notifier: Notifier, interval_s: float) -> None:
        self._root = root
        self._watch = StallWatch(notifier)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agent-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval_s + 5)

    def look(self) -> list[str]:
        """One look: the agents told of now."""
        return self._watch.check(watched_pulses(self._root), time.time_ns() // 1_000_000)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.look()
            except OSError as exc:  # a disk hiccup: the next look tries again
                log.warning("agents not watched this time: %s", exc)


@contextmanager
def watching_agents(root: Path, settings: Settings) -> Iterator[str | None]:
    """Watch the agents under `root` while the block runs; yields why stalls cannot be told
    (a channel's secret unset), None otherwise."""
    if not settings.notify.channels:
        yield None
        return
    try:
        notifications = open_notifications(settings.notify, os.environ)
    except UserError as exc:
        yield str(exc)
        return
    with notifications:
        watcher = AgentWatcher(root, notifications, settings.agent.heartbeat_seconds)
        watcher.start()
        try:
            yield None
        finally:
            watcher.stop()
