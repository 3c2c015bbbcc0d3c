"""The operator audit trail: every mutating request made to the service, hash-chained.

One JSON line per request (who, by the name of their API key; what; the answer's status; what
changed), in `operator_audit.jsonl` of the data directory, chained as the run registry is
(`core.chained_log`): a line edited, removed or inserted breaks the chain at that line, and
`tradegraph audit verify` says so. It is a file of its own, not a store the runs write, so a
halt is recorded even while the stores are busy or damaged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from core.chained_log import ChainedLog

OPERATOR_AUDIT_NAME: Final = "operator_audit.jsonl"


class OperatorAction(BaseModel):
    """One request that changed, or tried to change, something: `status` is the answer's."""

    model_config = ConfigDict(frozen=True)

    ts_ms: int
    actor: str
    """The name of the API key that made the request (never the key itself)."""
    role: str
    method: str
    path: str
    status: int
    detail: dict[str, Any] = Field(default_factory=dict)
    """What the route says changed, e.g. `{"changes": {"risk.max_leverage": {"old", "new"}}}`."""


class OperatorAudit:
    """The data directory's operator audit trail: appended by the server, read by the audit."""

    def __init__(self, root: Path) -> None:
        self.log = ChainedLog(Path(root) / OPERATOR_AUDIT_NAME)

    @property
    def path(self) -> Path:
        return self.log.path

    def record(self, action: OperatorAction) -> None:
        """Append `action` durably (fsynced before it returns); UserError if it cannot be."""
        self.log.append(action.model_dump(mode="json"))

    def read(self) -> list[OperatorAction]:
        """Every action, oldest first, the chain verified (ChainedLogBrokenError otherwise)."""
        fields = set(OperatorAction.model_fields)
        return [
            OperatorAction.model_validate({k: v for k, v in entry.items() if k in fields})
            for entry in self.log.read()
        ]
