"""What every chat tool shares: the desk it reads (a data directory, its settings, an account,
a market) and the way a tool is made from a plain function.

A chat tool reads the world only through its `ChatDesk`, bound when the registry is built
(`graphs.chat.desk.chat_registry`), so the `ToolContext` a caller passes is ignored. Whatever
goes wrong inside a tool comes back as one line (`ToolOutcome.error`), never as an exception:
a store that cannot be read is the model's to report, not the conversation's end. Results are
bounded: lists are capped and stored text (a thesis, a lesson) is cut and cleaned of control
characters, and it is returned as a data field, never as an instruction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import UserError
from core.settings import Settings
from core.text import shown
from tools.registry import Tool, ToolContext

DEFAULT_ACCOUNT = "chat"
"""The paper account a chat reads and proposes trades for when none is named."""
MAX_TEXT = 600
"""Characters of one stored text (a thesis, a lesson) in a result."""
MAX_LINE = 200
"""Characters of a short stored text (a reason, a headline)."""

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class ChatDesk:
    """What the chat's tools read: the data directory's stores, the settings, the account."""

    settings: Settings
    """`settings.data_dir` is the data directory whose stores the tools read."""
    account: str | None = None
    """None: the default account (`DEFAULT_ACCOUNT`)."""
    market: str | None = None
    """The market source spec for market tools (default `settings.market`), e.g.
    "synthetic:7" or a recordings folder."""
    now_ms: Callable[[], int] = field(default=wall_clock_ms)

    @property
    def root(self) -> Path:
        return self.settings.data_dir.expanduser().resolve()

    @property
    def account_name(self) -> str:
        return self.account or DEFAULT_ACCOUNT

    @property
    def market_spec(self) -> str:
        return (self.market or self.settings.market).strip()


def clip(text: str, limit: int = MAX_TEXT, *, one_line: bool = False) -> str:
    """Stored text as a result field: no escape sequences or control characters, at most
    `limit` characters (an ellipsis says it was cut)."""
    cleaned = shown(text, one_line=one_line)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def one_line_reason(error: BaseException) -> str:
    """An unexpected failure as one line a model can report: its kind and first line."""
    first = next(iter(str(error).strip().splitlines()), "")
    return f"{type(error).__name__}: {first}"[:MAX_LINE] if first else type(error).__name__


def chat_tool(
    name: str,
    description: str,
    input_model: type[In],
    output_model: type[Out],
    run: Callable[[In], Out],
    *,
    keep_none: bool = True,
) -> Tool[In, Out]:
    """A tool of scope "chat" running `run` on its validated input; a failure `run` did not
    expect (a damaged store, a lost connection) becomes a one-line ValueError."""

    def guarded(query: In, context: ToolContext) -> Out:
        try:
            return run(query)
        except (ValueError, UserError, ValidationError):
            raise
        except Exception as error:  # the model reads one line; the turn goes on
            raise ValueError(f"{name} failed: {one_line_reason(error)}") from None

    return Tool(
        name=name,
        description=description,
        input_model=input_model,
        output_model=output_model,
        run=guarded,
        scope="chat",
        keep_none=keep_none,
    )


def capped(items: list[Any], limit: int) -> tuple[list[Any], int]:
    """The first `limit` items and how many were left out."""
    return items[:limit], max(0, len(items) - limit)
