"""Run a command while `tradegraph serve` runs, as an operator does from a second terminal.

    python tests/chat_serving.py [COMMAND]

Makes a trader key (KEY in COMMAND's environment), starts `tradegraph serve --port 0` in the
background (a free port: tests run side by side), waits until it answers, runs COMMAND
through bash with the README's 127.0.0.1:8765 replaced by the server's address, stops the
server with Ctrl-C, prints what COMMAND then the server printed, and exits with COMMAND's exit
code (without COMMAND: the server's).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

README_ADDRESS = "127.0.0.1:8765"
TRADEGRAPH = shutil.which("tradegraph") or str(Path(sys.executable).parent / "tradegraph")
"""The `tradegraph` the shell finds, as an operator's terminal does (in the README's tests,
the fork server's shim: `tests/zygote.py`)."""


def main() -> None:
    command = sys.argv[1:]
    if len(command) > 1:
        sys.exit(__doc__)
    key = subprocess.run(
        [TRADEGRAPH, "keys", "create", "--name", "readme-client", "--role", "trader"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    server = subprocess.Popen(
        [TRADEGRAPH, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    printed = []
    for line in server.stdout:
        printed.append(line)
        if line.startswith("OpenAPI docs at "):
            break
    else:
        sys.exit(f"the server did not start:\n{''.join(printed)}")
    url = printed[-1].split()[3].removesuffix("/docs")
    _wait_until_it_answers(url)
    code = 0
    if command:
        given = command[0].replace(f"http://{README_ADDRESS}", url)
        done = subprocess.run(
            ["bash", "-c", given], capture_output=True, text=True, env=os.environ | {"KEY": key}
        )
        print(done.stdout, end="")
        print(done.stderr, end="", file=sys.stderr)
        code = done.returncode
    server.send_signal(signal.SIGINT)
    rest, _ = server.communicate(timeout=60)
    print("".join(printed) + rest, end="")
    sys.exit(code or server.returncode)


def _wait_until_it_answers(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/openapi.json", timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


if __name__ == "__main__":
    main()
