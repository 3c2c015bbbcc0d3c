"""`tradegraph risk halt` tells the configured Telegram chat (a fake Bot API on 127.0.0.1),
keeps the bot token out of its output, and halts all the same when the chat cannot be told."""

from __future__ import annotations

import json

from tests.cli import tradegraph
from tests.tools.notify.receivers import telegram_api

TOKEN = "987654:halt-test-token"


def _config(tmp_path, api_url: str) -> str:
    path = tmp_path / "tradegraph.toml"
    path.write_text(
        "[[notify.channels]]\n"
        'name = "desk"\nkind = "telegram"\nchat_id = "77"\n'
        f'api_url = "{api_url}"\nevents = ["halt", "breaker_trip"]\n'
    )
    return str(path)


def test_a_halt_from_the_cli_reaches_the_telegram_chat(tmp_path) -> None:
    with telegram_api(TOKEN, "77") as api:
        env = {"TRADEGRAPH_CONFIG": _config(tmp_path, api.url), "TELEGRAM_BOT_TOKEN": TOKEN}
        result = tradegraph(
            "risk", "halt", "--reason", "exchange outage", "--data-dir", str(tmp_path / "d"),
            env=env,
        )  # fmt: skip
        (sent,) = api.wait_for(1)
    assert result.returncode == 0, result.stderr
    assert json.loads(sent.body) == {
        "chat_id": "77",
        "text": "HALTED: every account (global kill switch): exchange outage",
    }
    assert TOKEN not in result.stdout + result.stderr


def test_a_halt_without_the_bot_token_halts_and_says_it_was_not_told(tmp_path) -> None:
    env = {"TRADEGRAPH_CONFIG": _config(tmp_path, "http://127.0.0.1:9"), "TELEGRAM_BOT_TOKEN": ""}
    data = str(tmp_path / "d")

    result = tradegraph("risk", "halt", "--reason", "drill", "--data-dir", data, env=env)
    status = tradegraph("risk", "status", "--data-dir", data, env=env)

    assert result.returncode == 0, result.stderr
    assert "halt not notified" in result.stdout and "TELEGRAM_BOT_TOKEN" in result.stdout
    assert "HALTED" in status.stdout
