"""`tradegraph notify test` sends one message to each channel and says which worked."""

from __future__ import annotations

import json

from tests.cli import assert_one_line_error, tradegraph
from tests.tools.notify.receivers import closed_port_url, telegram_api, webhook_receiver

TOKEN = "555:notify-test-token"


def test_notify_test_reaches_each_channel_and_fails_for_the_one_that_is_down(tmp_path) -> None:
    with telegram_api(TOKEN, "9") as api, webhook_receiver() as hook:
        config = tmp_path / "tradegraph.toml"
        config.write_text(
            '[[notify.channels]]\nname = "desk"\nkind = "telegram"\nchat_id = "9"\n'
            f'api_url = "{api.url}"\nevents = ["halt"]\n'
            f'[[notify.channels]]\nname = "ops"\nkind = "webhook"\nurl = "{hook.url}"\n'
            f'[[notify.channels]]\nname = "gone"\nkind = "webhook"\nurl = "{closed_port_url()}"\n'
        )
        env = {"TRADEGRAPH_CONFIG": str(config), "TELEGRAM_BOT_TOKEN": TOKEN}
        result = tradegraph("notify", "test", env=env)
        (to_chat,) = api.wait_for(1)
        (to_hook,) = hook.wait_for(1)

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "sent desk (telegram)" and lines[1] == "sent ops (webhook)"
    assert lines[2].startswith("failed gone (webhook): ConnectError")
    assert json.loads(to_chat.body)["text"] == "tradegraph test: notifications reach this channel"
    assert to_hook.json()["event"] == "test"
    assert TOKEN not in result.stdout + result.stderr


def test_notify_test_without_a_channel_is_one_clear_error(tmp_path) -> None:
    config = tmp_path / "tradegraph.toml"
    config.write_text("")

    result = tradegraph("notify", "test", env={"TRADEGRAPH_CONFIG": str(config)})

    assert_one_line_error(result, "no notification channel configured", "[[notify.channels]]")
