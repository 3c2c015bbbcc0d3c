"""Run a command while an agent runs, as an operator does from a second terminal.

    python tests/agent_running.py NAME -- COMMAND...

Starts `tradegraph agent start --name NAME` with the README's demo market in the background,
waits for its first decision, runs COMMAND (e.g. `tradegraph agent stop NAME`), prints what it
printed, stops the agent if it still runs, and exits with COMMAND's exit code.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

DEMO = ("--market", "synthetic:42", "--symbol", "SYN/USDT", "--timeframe", "1h", "--speed", "3600")


def main() -> None:
    name, separator, *command = sys.argv[1:]
    if separator != "--" or not command:
        sys.exit(__doc__)
    tradegraph = Path(sys.executable).parent / "tradegraph"
    agent = subprocess.Popen(
        [str(tradegraph), "agent", "start", "--name", name, *DEMO, "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    pulse = Path(".tradegraph") / "agents" / f"{name}.json"
    deadline = time.monotonic() + 120
    while not _decided(pulse):
        if agent.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the agent did not start: {agent.communicate()[1]}")
        time.sleep(0.05)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    if agent.poll() is None:
        agent.send_signal(signal.SIGTERM)
    agent.wait(120)
    sys.exit(result.returncode)


def _decided(pulse: Path) -> bool:
    try:
        return json.loads(pulse.read_text()).get("decisions", 0) > 0
    except (FileNotFoundError, ValueError):
        return False


if __name__ == "__main__":
    main()
