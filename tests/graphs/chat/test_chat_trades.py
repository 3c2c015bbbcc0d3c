"""Trades from the chat: validated, shown, held for a person, executed only on approval (and
validated again then), never around a denial; every turn in the thread's audit chain."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from graphs.chat.audit import chat_run_id
from graphs.chat.contract import (
    ApprovalExpiredError,
    NotAllowedError,
    NothingToApproveError,
    ThreadBusyError,
    UnknownThreadError,
)
from graphs.chat.service import ChatEngine
from tests.graphs.chat.chat_support import SYMBOL, chat_settings, kinds, ledger_rows

TRADE = f"/trade buy 1 {SYMBOL} --stop 75"
ROOT = Path(__file__).resolve().parents[3]
TRADEGRAPH = str(Path(sys.executable).parent / "tradegraph")


def propose(engine: ChatEngine, thread: str, text: str = TRADE) -> str:
    events = list(engine.send(thread, text, actor="alice", role="trader"))
    assert events[-1].kind == "approval", events
    assert events[-1].data is not None and events[-1].data["approved_by_validator"]
    return str(events[-1].data["approval_id"])


def test_an_approved_trade_is_executed_and_the_ledger_shows_its_fill(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        approval = propose(engine, "t1")
        assert ledger_rows(tmp_path) == ([], [])  # nothing placed before a person approves

        events = list(engine.approve("t1", approval, actor="alice", role="trader"))
        view = engine.view("t1")

    assert kinds(events) == ["tool_call", "tool_result", "answer"]
    assert events[-1].text.startswith(f"filled buy 1 {SYMBOL} at ")
    orders, fills = ledger_rows(tmp_path)
    assert [(o.symbol, o.side, status) for o, status in orders] == [(SYMBOL, "buy", "filled")]
    assert [(f.symbol, f.quantity) for f in fills] == [(SYMBOL, 1.0)]
    assert view.pending is None
    assert [m.role for m in view.messages] == ["user", "assistant", "user", "assistant"]


def test_a_rejected_trade_places_nothing(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        approval = propose(engine, "t1")

        events = list(
            engine.reject("t1", approval, actor="alice", role="trader", reason="changed my mind")
        )

        with pytest.raises(NothingToApproveError):
            engine.approve("t1", approval, actor="alice", role="trader")
    assert kinds(events) == ["answer"]
    assert "rejected by alice: nothing was traded" in events[-1].text
    assert ledger_rows(tmp_path) == ([], [])


def test_an_approval_is_resumed_by_a_new_process_after_the_first_exits(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from graphs.chat.service import ChatEngine
        from tests.graphs.chat.chat_support import chat_settings
        with ChatEngine(chat_settings(Path({str(tmp_path)!r}))) as engine:
            events = list(engine.send("t1", {TRADE!r}, actor="alice", role="trader"))
        print(events[-1].data["approval_id"])
        """
    )
    first = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    approval = first.stdout.strip().splitlines()[-1]

    with ChatEngine(chat_settings(tmp_path)) as engine:
        assert engine.view("t1").pending is not None
        events = list(engine.approve("t1", approval, actor="bob", role="trader"))

    assert events[-1].kind == "answer" and events[-1].text.startswith("filled buy 1")
    orders, fills = ledger_rows(tmp_path)
    assert len(orders) == len(fills) == 1


def test_an_expired_approval_cannot_be_approved_and_places_nothing(tmp_path: Path) -> None:
    now = [1_800_000_000_000]
    with ChatEngine(chat_settings(tmp_path), clock=lambda: now[0]) as engine:
        approval = propose(engine, "t1")
        now[0] += 901_000  # the default time to live is 15 minutes

        with pytest.raises(ApprovalExpiredError, match="expired"):
            engine.approve("t1", approval, actor="alice", role="trader")
        view = engine.view("t1")

    assert view.pending is None
    assert "expired unanswered" in view.messages[-1].text
    assert ledger_rows(tmp_path) == ([], [])


def test_a_viewer_can_neither_approve_nor_propose(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        approval = propose(engine, "t1")

        with pytest.raises(NotAllowedError):
            engine.approve("t1", approval, actor="eve", role="viewer")
        with pytest.raises(NotAllowedError):
            engine.send("t2", TRADE, actor="eve", role="viewer")
        still = engine.view("t1").pending

    assert still is not None and still.approval_id == approval
    assert ledger_rows(tmp_path) == ([], [])


def test_an_approval_cannot_be_given_from_a_chat_on_another_account(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        approval = propose(engine, "t1")
    with (
        ChatEngine(chat_settings(tmp_path), account="other") as other,
        pytest.raises(NotAllowedError, match=r"for account chat.*--account chat"),
    ):
        list(other.approve("t1", approval, actor="alice", role="trader"))

    assert ledger_rows(tmp_path) == ([], [])
    assert ledger_rows(tmp_path, "other") == ([], [])


def test_a_proposal_on_a_halted_account_is_denied_shown_and_closed(tmp_path: Path) -> None:
    settings = chat_settings(tmp_path)
    halted = subprocess.run(
        [TRADEGRAPH, "risk", "halt", "--account", "chat", "--reason", "news"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
    )
    assert halted.returncode == 0, halted.stderr
    with ChatEngine(settings) as engine:
        events = list(engine.send("t1", TRADE, actor="alice", role="trader"))
        denial = events[-1]
        view = engine.view("t1")

        with pytest.raises(NothingToApproveError):
            engine.approve("t1", str(denial.data["approval_id"]), actor="alice", role="trader")  # type: ignore[index]

    assert denial.kind == "approval" and denial.data is not None
    assert denial.data["approved_by_validator"] is False
    assert "HALTED" in denial.data["refusal_codes"]
    assert "DENIED by the risk validator" in denial.text
    assert view.pending is None
    assert ledger_rows(tmp_path) == ([], [])


def test_an_approval_is_validated_again_and_a_halt_since_then_stops_it(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        approval = propose(engine, "t1")
        halt = [TRADEGRAPH, "risk", "halt", "--account", "chat", "--reason", "news"]
        subprocess.run(halt, cwd=ROOT, env=_env(tmp_path), capture_output=True, check=True)

        events = list(engine.approve("t1", approval, actor="alice", role="trader"))

    assert events[-1].kind == "answer"
    assert events[-1].text.startswith("not placed: the validator refuses it now (HALTED")
    assert ledger_rows(tmp_path) == ([], [])


def test_a_thread_waiting_for_a_decision_takes_no_new_message(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        approval = propose(engine, "t1")

        with pytest.raises(ThreadBusyError, match=approval):
            engine.send("t1", "/risk", actor="alice", role="trader")
        other = list(engine.send("t2", "/risk", actor="alice", role="trader"))

    assert other[-1].kind == "answer"


def test_an_unknown_thread_is_one_clear_error(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        with pytest.raises(UnknownThreadError, match="no thread 'nope'"):
            engine.view("nope")
        with pytest.raises(UnknownThreadError):
            engine.approve("nope", "ap-1", actor="alice", role="trader")


def test_the_threads_audit_chain_verifies_with_its_orders_and_fills(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        list(engine.send("t1", "/portfolio", actor="alice", role="trader"))
        approval = propose(engine, "t1")
        list(engine.approve("t1", approval, actor="alice", role="trader"))

    verified = subprocess.run(
        [TRADEGRAPH, "audit", "verify", "--run", chat_run_id("t1")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
    )

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"run {chat_run_id('t1')}: 3 traces, chain intact" in verified.stdout


def _env(root: Path) -> dict[str, str]:
    import os

    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEGRAPH_", "ANTHROPIC_"))}
    return {**keep, "TRADEGRAPH_DATA_DIR": str(root), "TRADEGRAPH_MEMORY__EMBEDDING": "hashing"}


def test_on_postgresql_an_approval_is_resumed_by_another_engine(
    tmp_path: Path, database_url: str
) -> None:
    from pydantic import SecretStr

    settings = chat_settings(tmp_path).model_copy(update={"database_url": SecretStr(database_url)})
    with ChatEngine(settings) as engine:
        approval = propose(engine, "t1")

    assert not (tmp_path / "checkpoints.sqlite").exists()  # the thread lives in the database
    with ChatEngine(settings) as engine:
        events = list(engine.approve("t1", approval, actor="bob", role="trader"))

    assert events[-1].text.startswith("filled buy 1")


def test_threads_run_side_by_side_from_many_callers(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ChatEngine(chat_settings(tmp_path)) as engine:

        def turns(thread: str) -> list[str]:
            return [
                list(engine.send(thread, text, actor="alice", role="trader"))[-1].kind
                for text in ("/risk", "/portfolio", "/help")
            ]

        with ThreadPoolExecutor(4) as pool:
            done = list(pool.map(turns, [f"t{i}" for i in range(4)]))
        views = [engine.view(f"t{i}") for i in range(4)]

    assert done == [["answer"] * 3] * 4
    assert all(len(view.messages) == 6 for view in views)


def test_pruning_old_checkpoints_keeps_a_pending_approval(tmp_path: Path) -> None:
    from graphs.agent.checkpoints import prune_agent_checkpoints

    with ChatEngine(chat_settings(tmp_path)) as engine:
        for text in ("/risk", "/portfolio", "/help"):
            list(engine.send("t1", text, actor="alice", role="trader"))
        approval = propose(engine, "t1")

    pruned = prune_agent_checkpoints(tmp_path, None, before_ms=2**62)

    assert pruned > 0
    with ChatEngine(chat_settings(tmp_path)) as engine:
        assert len(engine.view("t1").messages) == 8
        events = list(engine.approve("t1", approval, actor="alice", role="trader"))
    assert events[-1].text.startswith("filled buy 1")
