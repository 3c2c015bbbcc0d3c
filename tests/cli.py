"""Running the `tradegraph` command as a user does: a real process, its output, its exit code."""

import os
import subprocess
import sys
from pathlib import Path

from tests import zygote

TRADEGRAPH = Path(sys.executable).parent / "tradegraph"


def tradegraph(*args: str, env: dict | None = None, cwd: Path | None = None):
    """`tradegraph ARGS` in a process of its own (forked from the tests' fork server, which
    has the imports done: `tests/zygote.py`), its output and exit code."""
    environment = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    environment.update(env or {})
    if zygote.ENABLED:
        return zygote.run(list(args), env=environment, cwd=cwd, timeout=600)
    return subprocess.run(
        [str(TRADEGRAPH), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def assert_one_line_error(result, *fragments: str):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
