"""Notifications over real HTTP on 127.0.0.1: a webhook receiver, a fake Telegram Bot API, a
receiver that is down or broken, the channel filters and the secrets kept out of logs."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

import pytest

from core.errors import UserError
from core.notifications import Notice, halt_notice
from core.notify_settings import ChannelSettings, NotifySettings
from tests.tools.notify.receivers import closed_port_url, telegram_api, webhook_receiver
from tools.notify import open_notifications

TOKEN = "123456:AAH-secret-bot-token-value"
SECRET = "whsec-do-not-log-me"


def _fill(symbol: str = "BTC/USDT") -> Notice:
    return Notice(
        event="fill", severity="info", title=f"Fill BUY {symbol}", text="BUY 0.1", ts_ms=1,
        account="main", symbol=symbol,
    )  # fmt: skip


def _settings(*channels: ChannelSettings, attempts: int = 3) -> NotifySettings:
    return NotifySettings(
        channels=channels, attempts=attempts, backoff_seconds=0.01, timeout_seconds=1.0,
        close_timeout_seconds=3.0,
    )  # fmt: skip


def test_webhook_receives_the_notice_as_signed_json() -> None:
    with webhook_receiver() as receiver:
        channel = ChannelSettings(
            name="hook", kind="webhook", url=receiver.url + "/hook", secret_env="HOOK_SECRET"
        )
        with open_notifications(_settings(channel), {"HOOK_SECRET": SECRET}) as notifier:
            notifier.notify(_fill())
        (got,) = receiver.wait_for(1)
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.path == "/hook"
    assert got.headers["X-Tradegraph-Signature"] == f"sha256={expected}"
    assert got.json()["event"] == "fill" and got.json()["symbol"] == "BTC/USDT"


def test_telegram_send_message_reaches_the_chat() -> None:
    with telegram_api(TOKEN, "4242") as api:
        channel = ChannelSettings(name="tg", kind="telegram", chat_id="4242", api_url=api.url)
        with open_notifications(_settings(channel), {"TELEGRAM_BOT_TOKEN": TOKEN}) as notifier:
            notifier.notify(halt_notice(None, "manual stop", 5))
        (got,) = api.wait_for(1)
    assert got.json() == {
        "chat_id": "4242",
        "text": "HALTED: every account (global kill switch): manual stop",
    }


def test_filters_pass_only_the_events_severity_and_symbols_asked_for() -> None:
    with webhook_receiver() as receiver:
        channel = ChannelSettings(
            name="hook", kind="webhook", url=receiver.url, events=("fill", "halt"),
            min_severity="info", symbols=("ETH/USDT",),
        )  # fmt: skip
        urgent = ChannelSettings(
            name="urgent", kind="webhook", url=receiver.url + "/urgent", min_severity="critical"
        )
        with open_notifications(_settings(channel, urgent), {}) as notifier:
            notifier.notify(_fill("BTC/USDT"))
            notifier.notify(_fill("ETH/USDT"))
            notifier.notify(halt_notice("main", "why", 2))
        got = receiver.wait_for(3)
    assert sorted((r.path, r.json()["event"], r.json()["symbol"]) for r in got) == [
        ("/", "fill", "ETH/USDT"),
        ("/", "halt", None),
        ("/urgent", "halt", None),
    ]


@pytest.mark.parametrize("down", ["port closed", "answers 500"])
def test_a_receiver_that_is_down_is_retried_then_given_up_in_one_line(
    down: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tools.notify")
    with webhook_receiver(fail_with=500) as broken:
        url = closed_port_url() if down == "port closed" else broken.url
        channel = ChannelSettings(name="hook", kind="webhook", url=url)
        notifier = open_notifications(_settings(channel, attempts=3), {})
        sender = notifier.senders[0][1]
        started = time.perf_counter()
        notifier.notify(_fill())
        queued_in = time.perf_counter() - started
        notifier.close()
    assert queued_in < 0.05
    assert sender.given_up == 1 and sender.delivered == 0
    if down == "answers 500":
        assert broken.attempts == 3
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1 and "after 3 attempt(s)" in gave_up[0].getMessage()


def test_a_full_queue_drops_the_oldest_and_counts_them(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tools.notify")
    channel = ChannelSettings(name="hook", kind="webhook", url=closed_port_url())
    settings = NotifySettings(
        channels=(channel,), queue_size=2, attempts=1, backoff_seconds=0.01,
        close_timeout_seconds=0.0,
    )  # fmt: skip
    notifier = open_notifications(settings, {})
    sender = notifier.senders[0][1]
    with sender._ready:  # the sender thread waits while five notices arrive
        for n in range(5):
            notifier.notify(_fill().model_copy(update={"ts_ms": n}))
        kept = [notice.ts_ms for notice in sender.queue]
    notifier.close()
    assert kept == [3, 4] and sender.dropped_full == 3
    assert "3 dropped on a full queue" in caplog.text


def test_the_bot_token_and_webhook_secret_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with telegram_api("other-token", "4242") as api:  # refuses our token: 401
        telegram = ChannelSettings(name="tg", kind="telegram", chat_id="4242", api_url=api.url)
        hook = ChannelSettings(
            name="hook", kind="webhook", url=closed_port_url(), secret_env="HOOK_SECRET"
        )
        environ = {"TELEGRAM_BOT_TOKEN": TOKEN, "HOOK_SECRET": SECRET}
        with open_notifications(_settings(telegram, hook, attempts=2), environ) as notifier:
            notifier.notify(_fill())
    assert "gave up" in caplog.text and "Unauthorized" in caplog.text
    assert "/bot***/sendMessage" in caplog.text  # httpx's request line, masked
    assert TOKEN not in caplog.text and SECRET not in caplog.text


def test_a_secret_variable_that_is_unset_is_one_clear_error() -> None:
    channel = ChannelSettings(name="tg", kind="telegram", chat_id="1")
    with pytest.raises(UserError, match="needs TELEGRAM_BOT_TOKEN set in the environment"):
        open_notifications(_settings(channel), {})


def test_a_webhook_without_a_url_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="webhook channel 'hook' needs a url"):
        ChannelSettings(name="hook", kind="webhook")
