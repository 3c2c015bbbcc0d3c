"""The layering of DESIGN.md and the house style, checked on every test run."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)


def test_import_contracts_hold():
    result = _run(str(BIN / "lint-imports"), "--no-cache")

    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    result = _run(str(BIN / "ruff"), "check", ".")

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_passes_strict_on_core_and_risk_and_plain_elsewhere():
    packages = ["core", "risk", "tools", "prompts", "agents", "memory", "graphs", "evals", "api"]
    result = _run(str(BIN / "mypy"), *packages)

    assert result.returncode == 0, result.stdout + result.stderr
