"""Slash commands: the chat's tools called directly, with no model, so the chat works offline.

`parse_slash` reads one line into the tool call it stands for (or a trade idea, or the help);
a line that does not read is one `MalformedCommandError` line giving the command's right form.
What a command answers is its tool's result, rendered by `graphs.chat.rendering`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from core.types import timeframe_seconds
from graphs.chat.contract import ChatError
from graphs.chat.desk import TradeIdea
from tools.strategies import STRATEGIES

FORMS = {
    "backtest": "/backtest STRATEGY SYMBOL TIMEFRAME [--days N]",
    "why": "/why RUN:SEQ",
    "risk": "/risk",
    "portfolio": "/portfolio",
    "search": '/search "text"',
    "decide": "/decide SYMBOL",
    "agents": "/agents",
    "trade": "/trade buy|sell QTY SYMBOL [--limit P] [--stop P]",
    "help": "/help",
}
WHAT = {
    "backtest": "backtest a strategy over the last N days (default 90)",
    "why": "why the agent decided what it did at a trace: thesis, verdict, refusals, recall",
    "risk": "the account's trading state, breakers and limits",
    "portfolio": "cash, positions marked at the last close, pending orders",
    "search": "decisions nearest in meaning to the text",
    "decide": "what the agent would decide now (a dry cycle; nothing is traded)",
    "agents": "the scheduled agents and their status",
    "trade": "propose a trade: validated, then it waits for your approve or reject",
    "help": "this list",
}
TOOLS = {
    "backtest": "backtest_strategy",
    "why": "why",
    "risk": "risk_status",
    "portfolio": "portfolio",
    "search": "search_decisions",
    "decide": "decide_now",
    "agents": "list_agents",
}
"""Each command's tool in the chat registry."""
STRATEGY_ALIASES = {
    "rsi_reversion": "rsi_divergence",
    "rsi_mean_reversion": "rsi_divergence",
    "mean_reversion": "zscore_reversion",
    "zscore": "zscore_reversion",
    "macd": "macd_signal",
    "bollinger_reversion": "bollinger",
    "sma_crossover": "ma_crossover",
}
"""Names people use for the strategies there are (`tradegraph backtest --list`)."""
MAX_DAYS = 3650


class MalformedCommandError(ChatError):
    """A slash command that does not read; the message gives its right form."""


@dataclass(frozen=True)
class SlashCall:
    """A command that runs one tool."""

    command: str
    tool: str
    input: dict[str, Any]
    note: str = ""
    """Said before the result (a strategy name mapped to the real one)."""


@dataclass(frozen=True)
class SlashTrade:
    idea: TradeIdea


@dataclass(frozen=True)
class SlashHelp:
    text: str


Slash = SlashCall | SlashTrade | SlashHelp


def is_slash(text: str) -> bool:
    return text.lstrip().startswith("/")


def help_text() -> str:
    width = max(len(form) for form in FORMS.values())
    return "\n".join(f"{FORMS[name]:<{width}}  {WHAT[name]}" for name in FORMS)


def parse_slash(text: str) -> Slash:
    """The command `text` stands for; MalformedCommandError (one line) if it does not read."""
    try:
        words = shlex.split(text.strip())
    except ValueError:
        raise MalformedCommandError(f"unbalanced quotes in {text.strip()!r}") from None
    name, args = words[0][1:].lower(), words[1:]
    if name not in FORMS:
        raise MalformedCommandError(
            f"unknown command /{name}: use one of " + ", ".join(f"/{n}" for n in FORMS) + " (/help)"
        )
    form = f"usage: {FORMS[name]}"
    positional, options = _split(args, form)
    if name == "help":
        _arity(positional, options, 0, (), form)
        return SlashHelp(help_text())
    if name == "trade":
        return SlashTrade(_trade(positional, options, form))
    if name == "backtest":
        _arity(positional, options, 3, ("days",), form)
        return _backtest(positional, options, form)
    if name in ("risk", "portfolio", "agents"):
        _arity(positional, options, 0, (), form)
        return SlashCall(name, TOOLS[name], {})
    _arity(positional, options, 1, (), form)
    value = positional[0]
    if name == "why":
        run, _, seq = value.rpartition(":")
        if not run or not seq.isdigit():
            raise MalformedCommandError(f"{form} (a trace id such as 20240101-abcd:42)")
        return SlashCall(name, TOOLS[name], {"ref": value})
    if name == "search":
        if not value.strip():
            raise MalformedCommandError(f"{form}: say what to look for")
        return SlashCall(name, TOOLS[name], {"text": value})
    return SlashCall(name, TOOLS[name], {"symbol": _symbol(value, form)})


def _split(args: list[str], form: str) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    options: dict[str, str] = {}
    words = iter(args)
    for word in words:
        if word.startswith("--") and len(word) > 2:
            value = next(words, None)
            if value is None:
                raise MalformedCommandError(f"{word} needs a value: {form}")
            options[word[2:]] = value
        else:
            positional.append(word)
    return positional, options


def _arity(
    positional: list[str], options: dict[str, str], count: int, allowed: tuple[str, ...], form: str
) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise MalformedCommandError(f"unknown option --{unknown[0]}: {form}")
    if len(positional) != count:
        raise MalformedCommandError(form)


def _symbol(value: str, form: str) -> str:
    base, _, quote = value.upper().partition("/")
    if not base or not quote or not (base + quote).isalnum():
        raise MalformedCommandError(f"{value!r} is not a symbol such as BTC/USDT: {form}")
    return f"{base}/{quote}"


def _number(value: str, what: str, form: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise MalformedCommandError(f"{what} must be a positive number, got {value!r}: {form}")
    return number


def _backtest(positional: list[str], options: dict[str, str], form: str) -> SlashCall:
    asked, symbol, timeframe = positional
    strategy = STRATEGY_ALIASES.get(asked.lower(), asked.lower())
    if strategy not in STRATEGIES or STRATEGIES[strategy].needs_partner:
        known = sorted(n for n, s in STRATEGIES.items() if not s.needs_partner)
        raise MalformedCommandError(
            f"no strategy named {asked!r}: choose one of {', '.join(known)}"
        )
    try:
        timeframe_seconds(timeframe)
    except Exception:
        raise MalformedCommandError(
            f"{timeframe!r} is not a timeframe such as 1h: {form}"
        ) from None
    days = options.get("days", "90")
    if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
        raise MalformedCommandError(f"--days must be a whole number from 1 to {MAX_DAYS}: {form}")
    note = f"{asked} is {strategy} here" if strategy != asked.lower() else ""
    payload = {
        "strategy": strategy,
        "symbol": _symbol(symbol, form),
        "timeframe": timeframe,
        "days": int(days),
    }
    return SlashCall("backtest", TOOLS["backtest"], payload, note)


def _trade(positional: list[str], options: dict[str, str], form: str) -> TradeIdea:
    _arity(positional, options, 3, ("limit", "stop"), form)
    side, quantity, symbol = positional
    if side.lower() not in ("buy", "sell"):
        raise MalformedCommandError(f"the side is buy or sell, not {side!r}: {form}")
    values: dict[str, Any] = {
        "side": side.lower(),
        "quantity": _number(quantity, "QTY", form),
        "symbol": _symbol(symbol, form),
        "thesis": "asked for with /trade",
    }
    if "limit" in options:
        values["limit_price"] = _number(options["limit"], "--limit", form)
        values["order_type"] = "limit"
    if "stop" in options:
        values["stop_price"] = _number(options["stop"], "--stop", form)
    try:
        return TradeIdea.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MalformedCommandError(f"{where}: {first['msg']}: {form}") from None
