"""`tradegraph audit verify` checks the operator audit trail (requests to the service) too."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.operator_audit import OperatorAction, OperatorAudit
from tests.cli import tradegraph


@pytest.fixture
def audited_dir(tmp_path: Path) -> Path:
    ran = tradegraph("run", "--bars", "30", "--data-dir", str(tmp_path), "-q")
    assert ran.returncode == 0, ran.stderr
    audit = OperatorAudit(tmp_path)
    for actor in ("alice", "bob"):
        audit.record(
            OperatorAction(
                ts_ms=1, actor=actor, role="admin", method="POST", path="/v1/risk/halt", status=200
            )
        )
    return tmp_path


def test_an_intact_operator_trail_verifies(audited_dir: Path) -> None:
    result = tradegraph("audit", "verify", "--data-dir", str(audited_dir))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "operator audit trail: 2 request(s), chained" in result.stdout


def test_an_edited_operator_trail_fails_verify_naming_the_line(audited_dir: Path) -> None:
    trail = OperatorAudit(audited_dir).path
    trail.write_text(trail.read_text().replace("alice", "mallory"))

    result = tradegraph("audit", "verify", "--data-dir", str(audited_dir))

    assert result.returncode == 1
    assert "BROKEN" in result.stdout and "operator_audit.jsonl is broken at line 1" in result.stdout
