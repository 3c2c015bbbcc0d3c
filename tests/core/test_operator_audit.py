"""The operator audit trail is a hash chain: what was written reads back, an edit is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.chained_log import ChainedLogBrokenError
from core.operator_audit import OperatorAction, OperatorAudit


def _action(actor: str) -> OperatorAction:
    return OperatorAction(
        ts_ms=1,
        actor=actor,
        role="admin",
        method="PUT",
        path="/v1/risk/limits",
        status=200,
        detail={"changes": {"risk.max_leverage": {"old": 2.0, "new": 1.5}}},
    )


def test_recorded_actions_read_back_in_order(tmp_path: Path) -> None:
    audit = OperatorAudit(tmp_path)
    audit.record(_action("alice"))
    audit.record(_action("bob"))

    assert [a.actor for a in audit.read()] == ["alice", "bob"]
    assert audit.read()[0].detail["changes"]["risk.max_leverage"] == {"old": 2.0, "new": 1.5}


def test_an_edited_line_breaks_the_chain(tmp_path: Path) -> None:
    audit = OperatorAudit(tmp_path)
    audit.record(_action("alice"))
    audit.record(_action("bob"))
    audit.path.write_text(audit.path.read_text().replace("alice", "mallory"))

    with pytest.raises(ChainedLogBrokenError, match="line 1"):
        audit.read()
