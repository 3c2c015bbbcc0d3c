"""The scheduler that wakes agents: APScheduler, one job per agent at each candle close plus
its delay, and a heartbeat job.

A wake-up job never runs twice at once (`max_instances=1`), and the agents of one process
decide one at a time (one decision thread). A wake-up due while the last still runs is
refused; it and a wake-up more than half a candle late are recorded as missed (the next
wake-up counts every close it did not serve), never traded late.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.candle_schedule import CandleSchedule
from graphs.agent.runner import Agent


class CandleCloseTrigger(BaseTrigger):  # type: ignore[misc]
    """Fires at every candle close plus the delay, in wall time (a played market's too)."""

    __slots__ = ("schedule",)

    def __init__(self, schedule: CandleSchedule) -> None:
        self.schedule = schedule

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        after = now.timestamp() * 1000
        if previous_fire_time is not None:
            after = max(after, previous_fire_time.timestamp() * 1000)
        wake = self.schedule.wake_at(self.schedule.next_close(after))
        return datetime.fromtimestamp(wake / 1000, tz=UTC)

    def __str__(self) -> str:
        return f"candle close every {self.schedule.period_ms / self.schedule.speed / 1000:g}s"


def run_agents(
    agents: Sequence[Agent],
    stop: threading.Event,
    *,
    on_error: Callable[[Agent, BaseException], None] | None = None,
) -> None:
    """Wake the agents at their candle closes until `stop` is set or every agent finished;
    then let a wake-up in progress finish (SIGTERM's promise) and return."""
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # skips become the agent's own notes
    # One decision at a time in this process (agents share its ledger, breakers and store);
    # pulses beat on their own threads, so a long decision never reads as a stalled agent.
    scheduler = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(4), "decisions": ThreadPoolExecutor(1)},
    )
    by_job: dict[str, Agent] = {}
    for agent in agents:
        wall_period = agent.schedule.period_ms / agent.schedule.speed / 1000
        scheduler.add_job(
            agent.tick,
            CandleCloseTrigger(agent.schedule),
            id=f"wake {agent.identity.name}",
            executor="decisions",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(wall_period / 2)),
        )
        by_job[f"wake {agent.identity.name}"] = agent
        scheduler.add_job(
            agent.heartbeat,
            IntervalTrigger(seconds=min(agent.identity.heartbeat_seconds, max(0.2, wall_period))),
            id=f"pulse {agent.identity.name}",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC) + timedelta(seconds=0.1),
        )

    def listen(event: Any) -> None:
        agent = by_job.get(event.job_id)
        if agent is None:
            return
        if event.code == EVENT_JOB_ERROR:
            if on_error is not None:
                on_error(agent, event.exception)
            stop.set()
        else:
            agent.note_skipped(
                "still deciding" if event.code == EVENT_JOB_MAX_INSTANCES else "late"
            )

    scheduler.add_listener(listen, EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
    scheduler.start()
    try:
        while not stop.is_set() and not all(a.finished.is_set() for a in agents):
            stop.wait(0.1)
    finally:
        scheduler.shutdown(wait=True)
