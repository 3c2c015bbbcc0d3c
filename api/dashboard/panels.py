"""What each dashboard panel shows, read with the functions the REST reads and the chat's
tools read with (the decision index, the portfolio, the risk status, the agents' roster, the
evaluation jobs), and the versions the live updates compare.

Nothing here scans the traces: the decisions come from the decision index the read routes
keep warm (`DecisionReader`, shared), and only the 20 listed decisions are opened whole for
their thesis and refusals.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from markupsafe import Markup

from api.dashboard.charts import equity_series, equity_svg
from api.server.eval_routes import eval_jobs
from api.server.fresh import Fresh
from api.server.served_agents import AgentLauncher
from api.server.suite_jobs import SuiteView
from core.settings import with_changed_limits
from graphs.chat.desk_base import ChatDesk, one_line_reason
from graphs.chat.desk_decisions import DecisionQuery, DecisionReader, account_runs, decisions_page
from graphs.chat.desk_tools_account import (
    AccountQuery,
    PortfolioView,
    RiskStatusView,
    portfolio,
    risk_status,
)
from graphs.chat.desk_tools_agents import AgentLine
from graphs.chat.desk_tools_audit import iso
from graphs.chat.desk_tools_eval import EvalView
from memory.audit import load_trace
from memory.decision_index import DecisionFilter, refusal_code
from memory.traces import trace_id

PANELS: Final = ("equity", "positions", "decisions", "breakers", "denials", "agents", "evals")
"""The panels drawn from the stores (the chat panel has no data of its own)."""
HALT_STATE: Final = "halt-state"
LATEST: Final = 20
RECENT_TRIPS: Final = 10
MAX_THESIS: Final = 160
ALL_POINTS: Final = 10_000_000

T = TypeVar("T")


@dataclass(frozen=True)
class DecisionShown:
    ref: str
    time: str
    symbol: str
    action: str
    verdict: str
    codes: tuple[str, ...]
    thesis: str
    """Clipped to `MAX_THESIS` characters; `thesis_full` is the whole of it."""
    thesis_full: str


@dataclass(frozen=True)
class EquityPanel:
    account: str
    chart: Markup | None
    """None until the account has decisions."""
    points: int
    last_equity: float | None
    hold_equity: float | None
    max_drawdown: float
    equity_return: float = 0.0
    """Since the first decision, as a fraction; `hold_return` is buy-and-hold's."""
    hold_return: float = 0.0


@dataclass(frozen=True)
class Trip:
    time: str
    ref: str
    event: str


@dataclass(frozen=True)
class HaltState:
    halted: bool
    detail: str


class DashboardData:
    """The panels of the dashboard over the served desk; answers kept a second (`Fresh`), so
    many tabs and the live updates read each store about once a second."""

    def __init__(self, desk: ChatDesk, reader: DecisionReader) -> None:
        self.desk = desk
        self.reader = reader
        self.launcher = AgentLauncher(desk.settings)
        self._portfolio: Fresh[PortfolioView] = Fresh()
        self._risk: Fresh[RiskStatusView] = Fresh()
        self._agents: Fresh[list[AgentLine]] = Fresh()
        self._evals: Fresh[list[EvalView | SuiteView]] = Fresh()
        self._by_version: dict[str, tuple[int, Any]] = {}
        self._memo_lock = threading.Lock()

    def _of_index(self, name: str, compute: Callable[[], T]) -> T:
        """`compute()`, read again only once the decision index has changed: the panels
        drawn from it cost a pass over every decision."""
        version = self.reader.refreshed().version()
        with self._memo_lock:
            kept = self._by_version.get(name)
        if kept is not None and kept[0] == version:
            return cast(T, kept[1])
        value = compute()
        with self._memo_lock:
            self._by_version[name] = (version, value)
        return value

    @property
    def account(self) -> str:
        return self.desk.account_name

    def equity(self) -> EquityPanel:
        return self._of_index("equity", self._equity)

    def _equity(self) -> EquityPanel:
        runs = account_runs(self.desk, self.account)
        rows = self.reader.refreshed().equity(DecisionFilter(runs=runs), limit=ALL_POINTS)
        if not rows:
            return EquityPanel(self.account, None, 0, None, None, 0.0)
        series = equity_series(rows)
        quote = self.portfolio().quote_currency
        return EquityPanel(
            account=self.account,
            chart=equity_svg(series, quote),
            points=len(rows),
            last_equity=series.equity[-1],
            hold_equity=series.hold[-1],
            max_drawdown=series.max_drawdown,
            equity_return=_growth(series.equity[0], series.equity[-1]),
            hold_return=_growth(series.hold[0], series.hold[-1]),
        )

    def portfolio(self) -> PortfolioView:
        return self._portfolio.get(
            "portfolio",
            lambda: portfolio(self.desk, AccountQuery(account=self.account)),
            self.reader.stamp(),
        )

    def decisions(self) -> list[DecisionShown]:
        return self._of_index("decisions", self._decisions)

    def _decisions(self) -> list[DecisionShown]:
        page = decisions_page(self.reader, DecisionQuery(), offset=0, limit=LATEST * 5)
        store = self.reader.store()
        shown: list[DecisionShown] = []
        for line in page.decisions:
            if not line.symbol:  # a chat question answered without a trade: not a decision
                continue
            if len(shown) == LATEST:
                break
            codes: tuple[str, ...] = ()
            thesis = ""
            try:
                trace = (
                    None
                    if store is None
                    else load_trace(store.traces, trace_id(line.run_id, line.seq))
                )
            except ValueError as unreadable:
                thesis = one_line_reason(unreadable)
            else:
                if trace is not None:
                    codes = tuple(refusal_code(r) for r in trace.refusals)
                    thesis = trace.proposal.thesis
            shown.append(
                DecisionShown(
                    ref=line.ref,
                    time=line.time,
                    symbol=line.symbol,
                    action=line.action,
                    verdict=line.verdict,
                    codes=codes,
                    thesis=_clipped(thesis),
                    thesis_full=thesis,
                )
            )
        return shown

    def risk(self) -> RiskStatusView:
        def read() -> RiskStatusView:
            desk = ChatDesk(with_changed_limits(self.desk.settings), market=self.desk.market)
            return risk_status(desk, AccountQuery(account=self.account))

        return self._risk.get("risk", read, self.reader.stamp())

    def trips(self) -> list[Trip]:
        return self._of_index("trips", self._trips)

    def _trips(self) -> list[Trip]:
        rows = self.reader.refreshed().breaker_events(DecisionFilter(), limit=RECENT_TRIPS)
        return [
            Trip(time=iso(row.ts), ref=f"{row.run_id}:{row.seq}", event=event)
            for row in rows
            for event in row.breaker_events
        ]

    def denials(self) -> list[tuple[str, int]]:
        return self._of_index("denials", self._denials)

    def _denials(self) -> list[tuple[str, int]]:
        counts = self.reader.refreshed().refusal_counts(DecisionFilter())
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def agents(self) -> list[AgentLine]:
        return self._agents.get(
            "agents", lambda: [a.line for a in self.launcher.agents(self.desk.now_ms())]
        )

    def evals(self) -> list[EvalView | SuiteView]:
        return self._evals.get(
            "evals", lambda: list(eval_jobs(self.desk.root, self.desk.now_ms()).jobs)
        )

    def halt_state(self) -> HaltState:
        status = self.risk()
        switch = status.global_kill_switch
        if switch.state != "ok":
            return HaltState(True, f"global kill switch: {switch.reason}")
        if status.halted:
            held = [f"{b.breaker}: {b.reason}" for b in status.breakers if b.state == "halt"]
            return HaltState(True, f"account {status.account}: {'; '.join(held) or 'halted'}")
        return HaltState(False, f"account {status.account}: {status.state}")

    def versions(self) -> dict[str, str]:
        """A fingerprint of each panel's data (and of the halt state): a panel whose
        fingerprint changed is drawn again by the pages open."""
        decided = str(self.reader.refreshed().version())
        risk = self.risk().model_dump_json(exclude={"limits", "headroom"})
        return {
            "equity": decided,
            "decisions": decided,
            "denials": decided,
            "positions": _digest(self.portfolio().model_dump_json()),
            "breakers": _digest(decided + risk),
            "agents": _digest(
                "".join(a.model_dump_json(exclude={"heartbeat_age_s"}) for a in self.agents())
            ),
            "evals": _digest("".join(e.model_dump_json() for e in self.evals())),
            HALT_STATE: _digest(repr(self.halt_state())),
        }


def _growth(start: float, end: float) -> float:
    return end / start - 1 if start > 0 else 0.0


def _clipped(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_THESIS else flat[: MAX_THESIS - 1] + "…"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
