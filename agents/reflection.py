"""Reflection: when a position closes, a short lesson for the next similar situation.

`SummaryReflector` (the default, no key needed) writes it from the numbers: what the entry
looked like, how the trade went, and the rule of thumb that follows. The Claude reflector
(`agents.claude_reflection`) asks Claude instead and falls back to this summary, so a closed
position always leaves a lesson. A lesson is data for later briefs; like everything an analyst
writes, it can change no limit, mode or breaker.
"""

from __future__ import annotations

from typing import Protocol

from agents.base import LlmUsage
from core.types import ClosedPosition


class Reflector(Protocol):
    name: str
    usage: LlmUsage
    """What the lessons cost so far (zero for the summary)."""

    def reflect(self, closed: ClosedPosition) -> str: ...


def _pct(x: float) -> str:
    return f"{x * 100:+.2f}%"


class SummaryReflector:
    """A deterministic lesson from the closed position's own numbers."""

    name = "summary"
    usage = LlmUsage()

    def reflect(self, closed: ClosedPosition) -> str:
        f = closed.entry_features
        won = closed.pnl > 0
        setting = (
            f"{f.regime} regime, RSI {f.rsi_14:.0f}, ADX {f.adx_14:.0f}, "
            f"24-candle return {_pct(f.return_24)}, volatility {f.volatility:.0%}"
        )
        how = (
            f"{closed.symbol} long held {closed.candles_held} "
            f"candle{'s' if closed.candles_held != 1 else ''}: {_pct(closed.pnl_fraction)}"
            f" (worst {_pct(closed.max_adverse)}), closed by {_short(closed.exit_reason)}"
        )
        if won:
            rule = "entries like this paid; the exit rule let the gain run"
        elif closed.max_adverse < -0.02 and "stop" in closed.exit_reason.lower():
            rule = "entries like this went against the position at once; wait for confirmation"
        else:
            rule = "entries like this did not pay their costs; demand a stronger setup here"
        return f"{how}. Entered in {setting}. Lesson: {rule}."


def _short(reason: str) -> str:
    """The exit reason without the persona prefix and the thesis' feature details."""
    text = reason.split("] ", 1)[-1]
    text = text.split(": ", 1)[-1] if text.count(": ") else text
    return text.split(";")[0][:120]
