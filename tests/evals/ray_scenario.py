"""Runs the Ray tests' commands inside the private network namespace they make.

Ray binds to every interface and probes an outside address, so no test starts it on the
host's network: the test runs this script with `unshare` (a new network namespace with only
loopback up, and a new PID namespace, so every process it leaves is killed when it ends).
The plan is a JSON file: an environment and steps, each a command and optionally a file on
whose appearance the command gets SIGINT, as Ctrl-C would send it. What each step did goes
to the result file as JSON.

    python ray_scenario.py PLAN.json RESULT.json

The tests call `namespaces_allowed`, `environment` and `run_in_namespace` from the host side.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STEP_SECONDS = 300
BIN = Path(sys.executable).parent


def namespaces_allowed() -> str | None:
    """Why the tests cannot make their own namespaces here, or None when they can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip to run Ray in a private network namespace"
    probe = subprocess.run(
        ["unshare", "-n", "-p", "-f", "--mount-proc", "sh", "-c", "ip link set lo up"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"unshare -n is not permitted here: {probe.stderr.decode().strip()[:120]}"
    return None


def environment(ray_tmp: Path) -> dict[str, str]:
    outside = ("ANTHROPIC_", "TRADEGRAPH_", "RAY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    return env | {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_TMPDIR": str(ray_tmp),  # short: Ray's socket paths must fit in 107 bytes
        "HOME": str(ray_tmp),  # Ray keeps an auth token in ~/.ray: the tests' own, not the host's
        "COLUMNS": "200",
    }


def run_in_namespace(
    base: Path, env: dict[str, str], steps: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every step run by this script inside a new network and PID namespace; what each did."""
    plan = base / "plan.json"
    plan.write_text(json.dumps({"env": env, "steps": steps}))
    result = base / "result.json"
    script = (
        f"ip link set lo up && exec {sys.executable} {Path(__file__).resolve()} {plan} {result}"
    )
    subprocess.run(
        ["unshare", "-n", "-p", "-f", "--mount-proc", "sh", "-c", script],
        env=env, timeout=600, check=True,
    )  # fmt: skip
    return list(json.loads(result.read_text()))


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
