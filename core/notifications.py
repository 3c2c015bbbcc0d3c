"""What an operator is told, and the port that tells them.

The decision cycle, the CLI and the agent supervisor hand a `Notice` to a `Notifier` they were
given; how it travels (webhook, Telegram) lives in `tools.notify`, so nothing that trades
knows about HTTP, and a failing channel cannot reach back into a cycle.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from core.types import BreakerEvent, Fill

NoticeEvent = Literal["fill", "breaker_trip", "halt", "agent_stalled", "test"]
"""`test`: `tradegraph notify test`, sent to every channel whatever its filters."""
NOTICE_EVENTS: tuple[NoticeEvent, ...] = ("fill", "breaker_trip", "halt", "agent_stalled")
Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "critical": 2}


class Notice(BaseModel):
    """One thing worth telling a person: which kind, how serious, and the words to show."""

    model_config = ConfigDict(frozen=True)

    event: NoticeEvent
    severity: Severity
    title: str
    text: str
    ts_ms: int
    account: str = ""
    symbol: str | None = None

    def line(self) -> str:
        """The notice as one plain line (a chat message, a log line)."""
        return f"{self.title}: {self.text}"


class Notifier(Protocol):
    """Accepts a notice without waiting for its delivery: trading never blocks on it."""

    def notify(self, notice: Notice) -> None: ...


class NoNotifier:
    """No channel configured: notices go nowhere."""

    def notify(self, notice: Notice) -> None:
        return None


def fill_notice(fill: Fill, account: str) -> Notice:
    side = fill.side.value.upper()
    return Notice(
        event="fill",
        severity="info",
        title=f"Fill {side} {fill.symbol}",
        text=(
            f"{side} {fill.quantity:g} {fill.symbol} at {fill.price:g} "
            f"(fee {fill.fee:g}) on account {account}"
        ),
        ts_ms=fill.ts,
        account=account,
        symbol=fill.symbol,
    )


def breaker_notice(event: BreakerEvent, account: str, symbol: str | None = None) -> Notice | None:
    """A breaker's trip (a halt-stage trip is critical); None for the rest. Resets and resumes
    are no alerts, and a manual halt is told by whoever engaged it (the CLI, the API): a
    running session only sees it in the store, and would tell it twice."""
    if event.kind != "trip":
        return None
    severity: Severity = "critical" if event.stage.value == "halt" else "warning"
    return Notice(
        event="breaker_trip",
        severity=severity,
        title=f"Breaker {event.breaker} tripped ({event.stage.value})",
        text=f"{event.reason} on account {event.account or account}",
        ts_ms=event.ts,
        account=event.account or account,
        symbol=symbol,
    )


def halt_notice(account: str | None, reason: str, ts_ms: int) -> Notice:
    """A halt: one account's kill switch, or with no account the global one."""
    scope = "every account (global kill switch)" if not account else f"account {account}"
    return Notice(
        event="halt",
        severity="critical",
        title="HALTED",
        text=f"{scope}: {reason}",
        ts_ms=ts_ms,
        account=account or "",
    )


def test_notice(ts_ms: int) -> Notice:
    return Notice(
        event="test",
        severity="info",
        title="tradegraph test",
        text="notifications reach this channel",
        ts_ms=ts_ms,
    )


def stalled_notice(agent: str, account: str, detail: str, ts_ms: int) -> Notice:
    return Notice(
        event="agent_stalled",
        severity="warning",
        title=f"Agent {agent} stalled",
        text=f"{detail} (account {account})",
        ts_ms=ts_ms,
        account=account,
    )
