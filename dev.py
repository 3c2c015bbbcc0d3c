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
    lock = " ".join([lock, *extras])
    if STAMP.is_file() and STAMP.read_text() == lock and (BIN / "tradegraph").exists():
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
    STAMP.write_text(lock)


def main() -> None:
    commands = {
        "demo": ["tradegraph", "run", "--market", "synthetic:7", "--bars", "3000"],
        # Both tiers, on every core; a module that shares one server or one run across its
        # tests is kept on one worker (xdist_group). `-m "not slow"` keeps the fast tier only.
        "test": ["pytest", "-n", "auto", "--dist", "loadgroup", "--durations=60", "-v"],
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
    os.chdir(ROOT)
    program = str(BIN / name)
    os.execv(program, [program, *rest, *extra])


if __name__ == "__main__":
    main()
