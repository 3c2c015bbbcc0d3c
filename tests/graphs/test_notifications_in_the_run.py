"""A run tells its channels of fills and breaker trips as they happen, over real HTTP on
127.0.0.1; a channel that is down is retried and given up while the run trades exactly as it
would without notifications, and no slower."""

from __future__ import annotations

import time

from agents.stress import StressAnalyst
from core.notify_settings import ChannelSettings, NotifySettings
from graphs.session import run_session
from tests.tools.notify.receivers import closed_port_url, webhook_receiver
from tools.notify import open_notifications


def _notify(url: str, **options: float) -> NotifySettings:
    return NotifySettings(
        channels=(ChannelSettings(name="hook", kind="webhook", url=url),),
        attempts=3, timeout_seconds=1.0, **options,
    )  # fmt: skip


def _trading(summary) -> tuple:
    return summary.decisions, summary.orders, summary.fills, summary.equity_final, summary.denials


def test_every_fill_and_breaker_trip_of_a_run_reaches_the_webhook(make_plan) -> None:
    with webhook_receiver() as receiver:
        with open_notifications(_notify(receiver.url), {}) as notifier:
            summary = run_session(
                make_plan(bars=200, run_id="told"), StressAnalyst(), notifier=notifier
            )
        got = [r.json() for r in receiver.wait_for(summary.fills)]
    fills = [n for n in got if n["event"] == "fill"]
    trips = [n for n in got if n["event"] == "breaker_trip"]
    assert summary.fills > 0 and len(fills) == summary.fills
    assert {n["account"] for n in fills} == {"replay:told"}
    assert {n["symbol"] for n in fills} == {"SYN/USDT"}
    assert trips and all(n["title"].startswith("Breaker ") for n in trips)


def test_a_webhook_that_is_down_leaves_the_runs_trading_and_timing_unchanged(make_plan) -> None:
    started = time.perf_counter()
    plain = run_session(make_plan(bars=200, run_id="plain"), StressAnalyst())
    plain_seconds = time.perf_counter() - started
    settings = _notify(closed_port_url(), backoff_seconds=0.5, close_timeout_seconds=0.5)

    started = time.perf_counter()
    with open_notifications(settings, {}) as notifier:
        told = run_session(make_plan(bars=200, run_id="down"), StressAnalyst(), notifier=notifier)
        told_seconds = time.perf_counter() - started
    sender = notifier.senders[0][1]

    assert _trading(told) == _trading(plain)
    # Delivered inline, each of the run's notices would cost 1.5 s of backoff (0.5 + 1.0).
    assert told.fills * 1.5 > 20
    assert told_seconds < plain_seconds + 5.0
    assert sender.delivered == 0 and sender.given_up >= 1
