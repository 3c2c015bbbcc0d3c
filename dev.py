#!/usr/bin/env python3
"""Set up the locked environment if needed, then run the demo or the tests.

    python3 dev.py demo     # autonomous paper run on the built-in synthetic market
    python3 dev.py test     # the whole test suite, in parallel (what CI runs)
    python3 dev.py test -m "not slow"     # the fast tier only

Needs only Python 3.11+ and access to PyPI. The environment lives in .venv and is rebuilt
whenever uv.lock changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
UV_VERSION = "0.13.8"
STAMP = VENV / ".tradegraph-lock"


def _run(*cmd: str | Path) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(f"dev.py: setup step failed: {' '.join(str(c) for c in cmd)}")


def ensure_environment(extras: tuple[str, ...] = ()) -> None:
    """Create .venv from uv.lock (with `extras`) unless it already matches the lock file."""
    if sys.version_info < (3, 11):
        sys.exit("dev.py: tradegraph needs Python 3.11 or newer; run it with python3.11+")
    lock = hashlib.sha256((ROOT / "uv.lock").read_bytes()).hexdigest()
    if _synced(lock, extras):
        return
    print("dev.py: setting up .venv from uv.lock (first run takes a minute) ...", flush=True)
    if not (BIN / "python").exists():
        _run(sys.executable, "-m", "venv", VENV)
    if not (BIN / "uv").exists():
        _run(BIN / "python", "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}")
    env_python = BIN / "python"
    extra_flags = [flag for extra in extras for flag in ("--extra", extra)]
    _run(
        BIN / "uv", "sync", "--locked", "--compile-bytecode", "--quiet", *extra_flags,
        "--python", env_python,
    )  # fmt: skip
    STAMP.write_text(" ".join([lock, *sorted(extras)]))


def _synced(lock: str, extras: tuple[str, ...]) -> bool:
    """Whether .venv was synced from this lock file with at least `extras`: the demo after
    the tests (which add the Ray extra) uses the environment as it is, rather than syncing
    it again without Ray, which the next test run would then install again."""
    if not (STAMP.is_file() and (BIN / "tradegraph").exists()):
        return False
    words = STAMP.read_text().split()
    return bool(words) and words[0] == lock and set(extras) <= set(words[1:])


def _test_workers() -> int:
    """One pytest worker per core, and one more: many tests wait on a clock or a child process
    (kills, agents on a played market, servers), and the extra worker fills those waits."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


def main() -> None:
    commands = {
        "demo": ["tradegraph", "run", "--market", "synthetic:7", "--bars", "3000"],
        # Both tiers, a worker per core and one more (`_test_workers`); a module that shares
        # one server or one run across its tests is kept on one worker (xdist_group).
        # `-m "not slow"` keeps the fast tier only.
        "test": [
            "pytest",
            "-n",
            str(_test_workers()),
            "--dist",
            "loadgroup",
            "--durations=60",
            "-v",
        ],
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit("usage: python3 dev.py demo|test [extra arguments]")
    # The tests cover the optional extras too (Ray suites); the demo needs none of them.
    ensure_environment(("ray",) if sys.argv[1] == "test" else ())
    name, *rest = commands[sys.argv[1]]
    extra = sys.argv[2:]
    if sys.argv[1] == "demo" and not any(a.startswith("--analyst") for a in extra):
        rest += ["--analyst", "offline"]  # offline unless asked, even with a key in the shell
        print(
            "dev.py: the demo uses the offline analyst; to try Claude: "
            "python3 dev.py demo --analyst anthropic (needs ANTHROPIC_API_KEY)",
            flush=True,
        )
    if sys.argv[1] == "test":
        # Every worker and every command a test starts would compile the project's sources
        # again (pytest's rewritten test modules too): seconds each, minutes in all.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.chdir(ROOT)
    program = str(BIN / name)
    os.execv(program, [program, *rest, *extra])


if __name__ == "__main__":
    main()
