"""Every mutating request under /v1 lands in the operator audit trail with its key's name;
reads, chat turns and requests without a valid key do not. Over the real app on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.operator_audit import OperatorAudit
from tests.api.server.operator_support import served_operator
from tests.api.server.server_support import make_keys, stream_turn


def test_a_mutating_request_is_recorded_with_its_keys_name_and_status(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["trader"]) as client:
        response = client.post("/v1/chat/t1/reject", json={"approval_id": "ap-1"})

    (action,) = OperatorAudit(tmp_path).read()
    assert (action.actor, action.role, action.method) == ("trader", "trader", "POST")
    assert (action.path, action.status) == ("/v1/chat/t1/reject", response.status_code)


def test_a_refused_role_is_recorded_as_a_403(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served, served.client(tokens["viewer"]) as client:
        client.post("/v1/chat/t1/approve", json={"approval_id": "ap-1"})

    (action,) = OperatorAudit(tmp_path).read()
    assert (action.actor, action.status) == ("viewer", 403)


def test_reads_chat_turns_and_unknown_keys_are_not_recorded(tmp_path: Path) -> None:
    tokens = make_keys(tmp_path)
    with served_operator(tmp_path) as served:
        with served.client(tokens["trader"]) as client:
            client.get("/v1/chat/t1")
            stream_turn(client, "/risk")
        with served.client("tg_not-a-key") as client:
            client.post("/v1/chat/t1/reject", json={"approval_id": "ap-1"})

    assert OperatorAudit(tmp_path).read() == []


def test_a_trail_that_cannot_be_written_never_stands_in_the_way_of_a_halt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = make_keys(tmp_path)
    unwritable = tmp_path / "no-such-folder"
    with (
        served_operator(tmp_path, audit_root=unwritable) as served,
        served.client(tokens["admin"]) as client,
    ):
        halted = client.post("/v1/risk/halt", json={"reason": "disk full drill"})
        status = client.get("/v1/risk/status").json()

    assert halted.status_code == 200 and status["halted"]
    assert "the operator audit trail could not record POST /v1/risk/halt" in caplog.text
