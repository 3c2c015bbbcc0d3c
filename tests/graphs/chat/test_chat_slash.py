"""Slash commands: read into their tool calls, answered offline from a real data directory,
and a malformed one answered with its right form in one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graphs.chat.contract import ChatEvent
from graphs.chat.service import ChatEngine
from graphs.chat.slash import MalformedCommandError, SlashCall, SlashTrade, parse_slash
from tests.graphs.chat.chat_support import RUN_ID, SYMBOL, chat_settings, kinds, ledger_rows


@pytest.mark.parametrize(
    ("text", "tool", "payload"),
    [
        (
            "/backtest rsi_reversion ETH/USDT 1h --days 90",
            "backtest_strategy",
            {"strategy": "rsi_divergence", "symbol": "ETH/USDT", "timeframe": "1h", "days": 90},
        ),
        ("/why run-1:42", "why", {"ref": "run-1:42"}),
        ("/risk", "risk_status", {}),
        ("/portfolio", "portfolio", {}),
        ('/search "stop-loss hit"', "search_decisions", {"text": "stop-loss hit"}),
        ("/decide sol/usdt", "decide_now", {"symbol": "SOL/USDT"}),
        ("/agents", "list_agents", {}),
    ],
)
def test_a_command_reads_as_its_tool_call(text: str, tool: str, payload: dict) -> None:
    command = parse_slash(text)

    assert isinstance(command, SlashCall)
    assert (command.tool, command.input) == (tool, payload)


def test_a_trade_reads_as_an_idea_with_its_prices() -> None:
    command = parse_slash("/trade SELL 0.5 btc/usdt --limit 70000 --stop 65000")

    assert isinstance(command, SlashTrade)
    idea = command.idea
    assert (idea.side, idea.quantity, idea.symbol) == ("sell", 0.5, "BTC/USDT")
    assert (idea.limit_price, idea.stop_price) == (70000.0, 65000.0)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/backtest rsi_divergence ETH/USDT", "usage: /backtest STRATEGY SYMBOL TIMEFRAME"),
        ("/backtest rsi_divergence ETH/USDT 1h --days x", "--days must be a whole number"),
        ("/backtest rsi_divergence ETH/USDT 1h --weeks 2", "unknown option --weeks"),
        ("/backtest nope ETH/USDT 1h", "choose one of bollinger, ma_crossover"),
        ("/backtest pairs ETH/USDT 1h", "no strategy named 'pairs'"),
        ("/backtest bollinger ETH/USDT 7x", "'7x' is not a timeframe"),
        ("/why 42", "usage: /why RUN:SEQ"),
        ("/search", 'usage: /search "text"'),
        ('/search "unbalanced', "unbalanced quotes"),
        ("/decide BTC", "'BTC' is not a symbol such as BTC/USDT"),
        ("/risk now", "usage: /risk"),
        ("/trade hold 1 BTC/USDT", "the side is buy or sell"),
        ("/trade buy -1 BTC/USDT", "QTY must be a positive number"),
        ("/trade buy 1 BTC/USDT --stop", "--stop needs a value"),
        ("/trade buy 1 BTC/USDT --take 3", "unknown option --take"),
        ("/sell everything", "unknown command /sell"),
    ],
)
def test_a_malformed_command_is_one_line_with_its_right_form(text: str, says: str) -> None:
    with pytest.raises(MalformedCommandError) as raised:
        parse_slash(text)

    assert says in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def engine(run_dir: Path) -> Iterator[ChatEngine]:
    with ChatEngine(chat_settings(run_dir)) as opened:
        yield opened


def ask(engine: ChatEngine, text: str, thread: str = "slash") -> list[ChatEvent]:
    return list(engine.send(thread, text, actor="terminal", role="trader"))


def test_help_lists_every_command(engine: ChatEngine) -> None:
    events = ask(engine, "/help")

    assert kinds(events) == ["answer"]
    for command in ("/backtest", "/why", "/risk", "/portfolio", "/search", "/decide", "/agents"):
        assert command in events[0].text


def test_backtest_answers_with_the_figures_and_the_real_strategy_name(engine: ChatEngine) -> None:
    events = ask(engine, f"/backtest rsi_reversion {SYMBOL} 1h --days 90")

    assert kinds(events) == ["tool_call", "tool_result", "answer"]
    answer = events[-1].text
    assert answer.startswith("(rsi_reversion is rsi_divergence here)")
    assert "over 2,160 candles" in answer and "buy and hold" in answer


def test_risk_and_portfolio_answer_from_the_account(engine: ChatEngine) -> None:
    risk, portfolio = ask(engine, "/risk"), ask(engine, "/portfolio")

    assert risk[-1].text.startswith("account chat: ACTIVE\n  no breaker tripped\nheadroom:")
    assert "risk per trade 1.00%, stop-loss required" in risk[-1].text
    assert portfolio[-1].text.startswith("account chat: cash 10,000.00 USDT, equity 10,000.00")


def test_why_quotes_the_stored_thesis_verdict_and_recalled_situations(engine: ChatEngine) -> None:
    from tests.support import stored_traces

    trace = stored_traces(engine.root, RUN_ID)[250]

    events = ask(engine, f"/why {RUN_ID}:250")

    answer = events[-1].text
    assert answer.startswith(f"{RUN_ID}:250 · ")
    assert f'thesis (as written then): "{trace.proposal.thesis}"' in answer
    assert f"verdict {trace.verdict}" in answer
    assert f"recalled {len(trace.recalled)} similar situations" in answer


def test_search_lists_the_nearest_decisions(engine: ChatEngine) -> None:
    events = ask(engine, '/search "not oversold"')

    lines = events[-1].text.splitlines()
    assert len(lines) >= 3 and all(line.startswith(f"{RUN_ID}:") for line in lines)


def test_decide_runs_a_dry_cycle_and_trades_nothing(engine: ChatEngine) -> None:
    before = ledger_rows(engine.root)

    events = ask(engine, f"/decide {SYMBOL}")

    assert "the agent would: " in events[-1].text and "nothing was sent" in events[-1].text
    assert ledger_rows(engine.root) == before


def test_agents_says_there_are_none_yet(engine: ChatEngine) -> None:
    events = ask(engine, "/agents")

    assert events[-1].text == "no agents: `tradegraph agent start --name NAME` starts one"


def test_a_malformed_command_ends_its_turn_with_one_error_line(engine: ChatEngine) -> None:
    events = ask(engine, "/backtest rsi_divergence")

    assert kinds(events) == ["error"]
    assert events[0].text == "usage: /backtest STRATEGY SYMBOL TIMEFRAME [--days N]"
