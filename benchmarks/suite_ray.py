"""The dev suite three ways, one after another: 1 local worker, 2 local workers, Ray local.

    .venv/bin/python benchmarks/suite_ray.py [--suite benchmarks/suite_dev_1h.toml]

Runs `tradegraph eval --suite` on 1 and then 2 local processes, then with `--ray local` on a
private Ray instance (every core: 2 on the development machine) inside a network namespace
of its own (`unshare -n`: Ray listens on every interface and looks for an outside address,
which a shared host must not see; needs root or user namespaces). Prints the wall seconds of
each from process start to the combined report, the ratios (targets: Ray within 15% of 2
local workers, at least 1.7x faster than 1 worker), and the load average before and after,
since the machine is shared.
Every run must match the first: the same trace_root_hash for every job.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SUITE = ROOT / "benchmarks" / "suite_dev_1h.toml"


def _environment(scratch: Path) -> dict[str, str]:
    outside = ("ANTHROPIC_", "TRADEGRAPH_", "RAY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    return env | {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_TMPDIR": str(scratch),  # short socket paths, and nothing left in /tmp/ray
        "HOME": str(scratch),  # Ray's auth token goes here, not into the host's ~/.ray
    }


def timed(command: list[str], env: dict[str, str], out: Path) -> float:
    """Wall seconds of one suite run, which must succeed and cover every job."""
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {shlex.join(command)}\n{result.stderr[-2000:]}")
    combined = json.loads((out / "suite.json").read_text())
    assert not combined["partial"] and len(combined["rows"]) == combined["jobs"]
    return seconds


def roots(out: Path) -> dict[str, str]:
    rows = json.loads((out / "suite.json").read_text())["rows"]
    return {r["label"]: r["report"]["determinism"]["trace_root_hash"] for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE)
    args = parser.parse_args()
    if not (ROOT.parent / "shared" / "markets").is_dir():
        print("skipped: no recordings at ../shared/markets")
        return
    tg = str(BIN / "tradegraph")
    scratch = Path(tempfile.mkdtemp(prefix="rb", dir="/tmp"))
    env = _environment(scratch)
    suite = str(args.suite.resolve())
    print(f"suite {args.suite}, load average before: {os.getloadavg()}", flush=True)
    figures: dict[str, float] = {}
    for name, workers in (("1 local worker", "1"), ("2 local workers", "2")):
        out = scratch / f"w{workers}"
        command = [tg, "eval", "--suite", suite, "--workers", workers, "--out", str(out), "-q"]
        figures[name] = timed(command, env, out)
        print(f"{name}: {figures[name]:.1f} s", flush=True)
    out = scratch / "ray"
    inner = shlex.join([tg, "eval", "--suite", suite, "--ray", "local", "--out", str(out), "-q"])
    cpus = os.cpu_count()
    if cpus != 2:
        print(f"note: Ray local takes every core, {cpus} here, not 2")
    command = ["unshare", "-n", "-p", "-f", "--mount-proc", "sh", "-c",
               f"ip link set lo up && exec {inner}"]  # fmt: skip
    figures["Ray local, 2 CPUs"] = timed(command, env, out)
    print(f"Ray local, 2 CPUs: {figures['Ray local, 2 CPUs']:.1f} s")
    same = roots(scratch / "w1") == roots(scratch / "w2") == roots(out)
    one, two, ray = (figures[k] for k in figures)
    print(f"load average after: {os.getloadavg()}; every trace_root_hash equal: {same}")
    print(f"Ray / 2 local workers: {ray / two:.2f} (target at most 1.15)")
    print(f"1 local worker / Ray: {one / ray:.2f}x (target at least 1.7x)")
    print(f"1 local worker / 2 local workers: {one / two:.2f}x")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
