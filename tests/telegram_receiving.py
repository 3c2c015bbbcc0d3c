"""Run a command against a fake Telegram Bot API, as `tradegraph notify test` meets the real one.

    python tests/telegram_receiving.py COMMAND...

Starts the fake Bot API of tests/tools/notify/receivers.py on 127.0.0.1 (accepting the token in
TELEGRAM_BOT_TOKEN and the chat_id of ./tradegraph.toml's last table), appends its address as
that table's `api_url`, runs COMMAND, prints what it printed and each message the fake
received, and exits with COMMAND's exit code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.tools.notify.receivers import telegram_api


def main() -> None:
    command = sys.argv[1:]
    if not command:
        sys.exit(__doc__)
    config = Path("tradegraph.toml")
    chat_id = tomllib.loads(config.read_text())["notify"]["channels"][-1]["chat_id"]
    with telegram_api(os.environ["TELEGRAM_BOT_TOKEN"], chat_id) as api:
        config.write_text(config.read_text() + f'api_url = "{api.url}"\n')
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        print(done.stdout + done.stderr, end="")
        for message in api.received:
            print(f"fake Bot API received: {message.json()}")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
