"""`tradegraph chat` and `tradegraph ask` as a person uses them: real processes, lines on stdin."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.cli import TRADEGRAPH, assert_one_line_error, tradegraph

SETTINGS = {"TRADEGRAPH_MARKET": "synthetic:7", "TRADEGRAPH_MEMORY__EMBEDDING": "hashing"}


def chat(root: Path, lines: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`tradegraph chat ARGS` in its own process, `lines` typed on its stdin then Ctrl-D."""
    outside = ("ANTHROPIC_", "TRADEGRAPH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env |= {**SETTINGS, "TRADEGRAPH_DATA_DIR": str(root)}
    return subprocess.run(
        [str(TRADEGRAPH), "chat", *args],
        input=lines,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def env_for(root: Path) -> dict[str, str]:
    return {**SETTINGS, "TRADEGRAPH_DATA_DIR": str(root)}


def test_a_chat_answers_slash_commands_and_leaves_on_ctrl_d(tmp_path: Path) -> None:
    done = chat(tmp_path, "/help\n/risk\n/backtest bollinger SYN/USDT 1h --days 30\nhello\n")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "/backtest STRATEGY SYMBOL TIMEFRAME [--days N]" in out
    assert "  → risk_status {}" in out and "account chat: ACTIVE" in out
    assert "  → backtest_strategy" in out and "bollinger (period=20, nbdev=2.0)" in out
    assert "error: a model is needed to answer free text" in out
    assert "left thread " in out and "Traceback" not in done.stderr


def test_a_trade_approved_at_the_prompt_is_filled(tmp_path: Path) -> None:
    done = chat(tmp_path, "/trade buy 1 SYN/USDT --stop 75\na\n/portfolio\n")

    assert done.returncode == 0, done.stderr
    assert "APPROVAL NEEDED" in done.stdout
    assert "filled buy 1 SYN/USDT at " in done.stdout
    assert "SYN/USDT: 1 at " in done.stdout


def test_a_resumed_thread_shows_its_history_and_asks_for_its_pending_approval(
    tmp_path: Path,
) -> None:
    first = chat(tmp_path, "/trade buy 1 SYN/USDT --stop 75\n\n")
    thread = first.stdout.splitlines()[0].split()[1]

    again = chat(tmp_path, "r\n", "--thread", thread)

    assert again.returncode == 0, again.stderr
    assert "you> /trade buy 1 SYN/USDT --stop 75" in again.stdout
    assert "chat> APPROVAL NEEDED" in again.stdout
    assert "rejected by terminal: nothing was traded" in again.stdout


def test_an_unknown_thread_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = chat(tmp_path, "", "--thread", "nope")

    assert_one_line_error(done, "no thread 'nope'")


def test_ask_json_gives_the_turns_events(tmp_path: Path) -> None:
    done = tradegraph("ask", "/risk", "--json", env=env_for(tmp_path))

    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)
    assert [e["kind"] for e in events] == ["tool_call", "tool_result", "answer"]
    assert "ACTIVE" in events[-1]["text"]


def test_ask_with_a_malformed_command_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = tradegraph("ask", "/backtest rsi_divergence", env=env_for(tmp_path))

    assert done.returncode == 2
    assert "error: usage: /backtest STRATEGY SYMBOL TIMEFRAME [--days N]" in done.stdout
    assert "Traceback" not in done.stderr


CASSETTE = Path(__file__).resolve().parents[1] / "cassettes" / "anthropic" / "chat"


def test_ask_replays_a_claude_cassette_without_a_key_and_spends_nothing(tmp_path: Path) -> None:
    from tests.graphs.chat.claude_conversations import CONVERSATIONS

    conversation = CONVERSATIONS["backtest_question"]
    cassette = str(CASSETTE / "backtest_question.yaml")
    done = tradegraph("ask", conversation.question, "--cassette", cassette, env=env_for(tmp_path))

    assert done.returncode == 0, done.stderr
    assert "  → backtest_strategy" in done.stdout and "evidence, not a guarantee" in done.stdout
    assert day_spend(tmp_path) == (0, 0.0)


def test_ask_a_question_the_cassette_does_not_hold_is_one_error_line(tmp_path: Path) -> None:
    cassette = str(CASSETTE / "backtest_question.yaml")
    done = tradegraph("ask", "something else", "--cassette", cassette, env=env_for(tmp_path))

    assert done.returncode == 2
    assert "error: the model failed: the cassette has no answer for this request" in done.stdout


def test_ask_with_a_missing_cassette_and_no_key_is_one_line(tmp_path: Path) -> None:
    done = tradegraph("ask", "hi", "--cassette", str(tmp_path / "new.yaml"), env=env_for(tmp_path))

    assert_one_line_error(done, "does not exist and there is no ANTHROPIC_API_KEY to record it")


def day_spend(root: Path) -> tuple[int, float]:
    """The chat's spend recorded for today in the data directory (tokens, dollars)."""
    from core.backends import storage_for
    from core.settings import Settings
    from graphs.chat.budget import ChatSpend

    settings = Settings(data_dir=root)
    return ChatSpend(settings.chat, storage_for(settings, root).state_store("chat_spend")).today()
