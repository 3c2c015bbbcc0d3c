"""Runs the Ray tests' commands inside the private network namespace they make.

Ray binds to every interface and probes an outside address, so no test starts it on the
host's network: the test runs this script with `unshare` (a new network namespace with only
loopback up, and a new PID namespace, so every process it leaves is killed when it ends).
The plan is a JSON file: an environment and steps, each a command and optionally a file on
whose appearance the command gets SIGINT, as Ctrl-C would send it. What each step did goes
to the result file as JSON.

    python ray_scenario.py PLAN.json RESULT.json
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STEP_SECONDS = 300


def run_step(step: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    started = time.monotonic()
    process = subprocess.Popen(
        step["args"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    interrupted = False
    trigger = step.get("interrupt_when")
    if trigger is not None:
        while process.poll() is None and time.monotonic() - started < STEP_SECONDS:
            if Path(trigger).exists():
                time.sleep(0.5)  # let the driver finish writing that job's files
                process.send_signal(signal.SIGINT)
                interrupted = True
                break
            time.sleep(0.1)
    try:
        out, err = process.communicate(timeout=STEP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return {
        "args": step["args"],
        "code": process.returncode,
        "stdout": out,
        "stderr": err,
        "seconds": round(time.monotonic() - started, 1),
        "interrupted": interrupted,
    }


def main(plan_path: str, result_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text())
    results = [run_step(step, plan["env"]) for step in plan["steps"]]
    Path(result_path).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:3])
