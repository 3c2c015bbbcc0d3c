"""Turns with a model, driven by a scripted stand-in for the `ChatModel` port (a unit-level
fake: the real Claude path replays cassettes through the SDK). It checks what the graph does
around the model: tools run and their results handed back as data, rounds bounded, proposals
validated and held for a person, a denial final, budgets kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphs.chat.contract import BudgetSpentError
from graphs.chat.model_port import ModelReply
from graphs.chat.service import ChatEngine
from tests.graphs.chat.chat_support import SYMBOL, chat_settings, kinds, ledger_rows
from tests.graphs.chat.scripted_model import BUY, ScriptedModel, calls, says

BACKTEST = {"strategy": "bollinger", "symbol": SYMBOL, "timeframe": "1h", "days": 30}


def test_a_question_runs_the_tool_the_model_calls_and_streams_its_answer(tmp_path: Path) -> None:
    model = ScriptedModel(calls("backtest_strategy", BACKTEST), says("Bollinger returned x."))
    with ChatEngine(chat_settings(tmp_path), model=model) as engine:
        events = list(engine.send("t1", "backtest bollinger", actor="alice", role="trader"))
        view = engine.view("t1")

    assert kinds(events) == ["tool_call", "tool_result", "token", "token", "token", "answer"]
    assert events[-1].text == "Bollinger returned x."
    result_turn = model.seen[1][0][-1]
    assert result_turn["role"] == "user"
    assert result_turn["content"][0]["type"] == "tool_result"
    assert '"strategy":"bollinger"' in result_turn["content"][0]["content"]
    assert view.tokens_used == 240 and view.cost_usd == pytest.approx(0.002)


def test_a_bad_tool_call_is_one_error_line_the_model_reads(tmp_path: Path) -> None:
    model = ScriptedModel(calls("no_such_tool", {}), says("Sorry."))
    with ChatEngine(chat_settings(tmp_path), model=model) as engine:
        events = list(engine.send("t1", "hi", actor="alice", role="trader"))

    block = model.seen[1][0][-1]["content"][0]
    assert block["is_error"] is True and block["content"].startswith("no tool named")
    assert events[-1].kind == "answer"


def test_tool_rounds_are_bounded_then_the_model_must_answer(tmp_path: Path) -> None:
    settings = chat_settings(tmp_path, chat={"max_tool_rounds": 2})
    model = ScriptedModel(calls("risk_status", {}), calls("risk_status", {}), says("Done looking."))
    with ChatEngine(settings, model=model) as engine:
        events = list(engine.send("t1", "look hard", actor="alice", role="trader"))

    assert [len(tools) > 0 for _, tools in model.seen] == [True, True, False]
    assert events[-1].text == "Done looking."


def test_a_model_proposal_waits_for_a_person_then_its_result_reaches_the_model(
    tmp_path: Path,
) -> None:
    model = ScriptedModel(calls("propose_trade", BUY), says("Noted."))
    with ChatEngine(chat_settings(tmp_path), model=model) as engine:
        events = list(engine.send("t1", "buy the dip", actor="alice", role="trader"))
        approval = events[-1].data["approval_id"]  # type: ignore[index]
        assert events[-1].kind == "approval" and ledger_rows(tmp_path) == ([], [])

        list(engine.approve("t1", str(approval), actor="alice", role="trader"))
        list(engine.send("t1", "thanks", actor="alice", role="trader"))

    conversation = model.seen[-1][0]
    answered = conversation[-3]["content"][0]
    assert answered["tool_use_id"] == "call-1" and "filled buy 1" in answered["content"]
    assert [m["role"] for m in conversation] == ["user", "assistant", "user", "assistant", "user"]
    assert len(ledger_rows(tmp_path)[1]) == 1


def test_a_denied_proposal_is_final_for_the_turn(tmp_path: Path) -> None:
    over = {**BUY, "quantity": 1_000_000.0}
    model = ScriptedModel(
        calls("propose_trade", over), calls("propose_trade", BUY, "call-2"), says("Denied.")
    )
    with ChatEngine(chat_settings(tmp_path), model=model) as engine:
        events = list(engine.send("t1", "buy a lot", actor="alice", role="trader"))

    verdict = next(e for e in events if e.kind == "tool_result" and e.tool == "propose_trade")
    assert verdict.data is not None and verdict.data["approved_by_validator"] is False
    retry = model.seen[2][0][-1]["content"][0]
    assert retry["is_error"] is True and "verdict stands" in retry["content"]
    assert events[-1].kind == "answer"
    assert ledger_rows(tmp_path) == ([], [])


def test_a_thread_over_its_budget_is_refused_before_the_model_is_asked(tmp_path: Path) -> None:
    settings = chat_settings(tmp_path, chat={"thread_usd": 0.001})
    model = ScriptedModel(says("First."), says("Second."))
    with ChatEngine(settings, model=model) as engine:
        list(engine.send("t1", "one", actor="alice", role="trader"))

        with pytest.raises(BudgetSpentError, match="start a new thread"):
            engine.send("t1", "two", actor="alice", role="trader")
        slash = list(engine.send("t1", "/risk", actor="alice", role="trader"))

    assert len(model.seen) == 1
    assert slash[-1].kind == "answer"


def test_a_failing_model_is_one_error_line_and_the_thread_goes_on(tmp_path: Path) -> None:
    def fails(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        raise TimeoutError("read timed out")

    model = ScriptedModel(fails, says("Back."))
    with ChatEngine(chat_settings(tmp_path), model=model) as engine:
        failed = list(engine.send("t1", "one", actor="alice", role="trader"))
        again = list(engine.send("t1", "two", actor="alice", role="trader"))

    assert kinds(failed) == ["error"]
    assert failed[0].text.startswith("the model failed (TimeoutError: read timed out)")
    assert again[-1].text == "Back."


def test_free_text_without_a_model_says_how_to_configure_one(tmp_path: Path) -> None:
    with ChatEngine(chat_settings(tmp_path)) as engine:
        events = list(engine.send("t1", "what is my risk?", actor="alice", role="trader"))

    assert kinds(events) == ["error"]
    assert "ANTHROPIC_BASE_URL" in events[0].text and "slash commands work" in events[0].text


def test_the_days_budget_holds_across_threads(tmp_path: Path) -> None:
    settings = chat_settings(tmp_path, chat={"day_usd": 0.0015})
    model = ScriptedModel(says("First."), says("Second."), says("Third."))
    with ChatEngine(settings, model=model) as engine:
        list(engine.send("t1", "one", actor="alice", role="trader"))
        list(engine.send("t2", "two", actor="alice", role="trader"))

        with pytest.raises(BudgetSpentError, match="today's"):
            engine.send("t3", "three", actor="alice", role="trader")

    with ChatEngine(settings, model=model) as engine, pytest.raises(BudgetSpentError):
        engine.send("t4", "four", actor="alice", role="trader")  # kept across a restart


def test_no_secret_reaches_the_threads_trace(tmp_path: Path) -> None:
    from pydantic import SecretStr

    from tests.support import stored_traces

    key = "sk-ant-api03-" + "x" * 40
    settings = chat_settings(tmp_path).model_copy(update={"anthropic_api_key": SecretStr(key)})
    model = ScriptedModel(calls("search_decisions", {"text": key}), says(f"Your key is {key}"))
    with ChatEngine(settings, model=model) as engine:
        list(engine.send("t1", f"my key is {key}", actor="alice", role="trader"))

    [trace] = stored_traces(tmp_path, "chat-t1")
    stored = trace.model_dump_json()
    assert key not in stored and "[secret]" in stored


def test_a_model_error_is_its_own_line_and_the_turn_is_traced_with_the_prompt(
    tmp_path: Path,
) -> None:
    from graphs.chat.model_port import ChatModelError
    from tests.support import stored_traces

    def overloaded(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        raise ChatModelError("overloaded_error: Overloaded (after 3 retries)", kind="overloaded")

    model = ScriptedModel(overloaded, says("Fine now."))
    with ChatEngine(chat_settings(tmp_path), model=model) as engine:
        failed = list(engine.send("t1", "one", actor="alice", role="trader"))
        list(engine.send("t1", "two", actor="alice", role="trader"))

    assert failed[-1].text == "the model failed: overloaded_error: Overloaded (after 3 retries)"
    first, second = stored_traces(tmp_path, "chat-t1")
    assert first.model is None and first.proposal.thesis.startswith("the model failed")
    assert second.model == "scripted" and second.llm["requests"] == 1
    assert (second.prompt_version or "").startswith("chat_system@")
