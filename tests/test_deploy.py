"""The deployment files: a systemd unit systemd accepts, and a Dockerfile that builds the
image the README starts (where a Docker daemon runs) and leaves no package out."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "tradegraph-agent@.service"
DOCKERFILE = ROOT / "Dockerfile"


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here (Debian's systemd package has it)")
    tradegraph = Path(sys.executable).parent / "tradegraph"
    text = UNIT.read_text()
    text = text.replace("/opt/tradegraph/.venv/bin/tradegraph", str(tradegraph))
    text = text.replace("User=tradegraph", "User=root").replace("Group=tradegraph", "Group=root")
    instance = tmp_path / "tradegraph-agent@btc.service"
    instance.write_text(text)

    result = subprocess.run(
        ["systemd-analyze", "verify", str(instance)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_the_unit_stops_the_agent_with_sigterm_and_counts_its_exit_as_clean():
    settings = dict(
        line.split("=", 1) for line in UNIT.read_text().splitlines() if re.match(r"^\w+=", line)
    )

    assert settings["KillSignal"] == "SIGTERM"
    assert settings["SuccessExitStatus"] == "143"
    assert "agent start --agents" in settings["ExecStart"]


def test_the_dockerfile_copies_every_package_of_the_wheel():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"]
    copied = set(re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE.read_text(), re.MULTILINE))

    assert set(packages) <= copied
    assert "uv sync --locked" in DOCKERFILE.read_text()


@pytest.mark.slow
def test_the_docker_image_builds_and_runs_the_agent_command(tmp_path):
    if shutil.which("docker") is None:
        pytest.skip("Docker is not installed here")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        pytest.skip("no Docker daemon runs here (docker info fails): the image is not built")
    tag = "tradegraph-test:latest"

    built = subprocess.run(
        ["docker", "build", "-t", tag, str(ROOT)],
        capture_output=True, text=True, timeout=1500, check=False,
    )  # fmt: skip
    listed = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", tag, "agent", "list"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert built.returncode == 0, built.stderr[-2000:]
    assert listed.returncode == 0, listed.stderr
    assert "no agents in /data" in listed.stdout
