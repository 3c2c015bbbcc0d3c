"""A stand-in for the chat's desk (branch chat-desk: `graphs.chat.desk`) until it lands: the
same names (`ChatDesk`, `chat_registry`, `validate_proposal`, `TradeIdea`), a few tools over
the toolbox and the stores, and the validator path of a proposal. Deleted when the real desk
is merged."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.accounts import check_account_name
from core.backends import LedgerStore, storage_for
from core.market.source import MarketRequest, open_market
from core.risk_state import RiskState
from core.settings import Settings
from core.types import (
    Action,
    Approved,
    BreakerSnapshot,
    Denied,
    MarketSnapshot,
    OrderType,
    Portfolio,
    Proposal,
    RiskContext,
    Verdict,
    timeframe_seconds,
)
from graphs.chat.contract import PendingApproval, ValidatorCheck
from risk.breakers import BreakerBoard
from risk.validator import validate
from tools.data_checks import check_data
from tools.registry import MarketData, Tool, ToolContext, ToolRegistry
from tools.tool_catalog import TOOLBOX

DEFAULT_ACCOUNT = "chat"


class TradeIdea(BaseModel):
    """A trade a person (`/trade`) or the model (`propose_trade`) asks for: only a wish until
    the validator approves it and a person confirms it."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    side: Literal["buy", "sell"]
    quantity: float = Field(gt=0, le=1e9, description="base currency units")
    symbol: str = Field(min_length=3, max_length=32, description="e.g. BTC/USDT")
    limit_price: float | None = Field(default=None, gt=0, le=1e12)
    stop_price: float | None = Field(default=None, gt=0, le=1e12, description="stop-loss")
    thesis: str = Field(default="", max_length=2000, description="why, in a sentence or two")


@dataclass(frozen=True)
class ChatDesk:
    """What the chat's tools and trades read (the real desk's fields)."""

    settings: Settings
    account: str | None = None
    market: str | None = None
    now_ms: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)

    @property
    def root(self) -> Path:
        return self.settings.data_dir.expanduser().resolve()

    @property
    def account_name(self) -> str:
        return check_account_name(self.account) if self.account else DEFAULT_ACCOUNT

    @property
    def market_spec(self) -> str:
        return (self.market or self.settings.market).strip()

    def candles(self, symbol: str | None, timeframe: str | None = None) -> MarketData:
        return _opened(self.market_spec, symbol, timeframe)

    def snapshot(self, symbol: str) -> tuple[MarketSnapshot, MarketData]:
        """The market of `symbol` at its last close, with its data checks."""
        from core.market.history import MarketHistory

        data = self.candles(symbol)
        history = MarketHistory(data.info, capacity=len(data.candles) + 1)
        for i in range(len(data.candles)):
            history.append(data.candles.candle(i))
        last = history.last()
        now = last.ts + timeframe_seconds(data.info.timeframe) * 1000
        limits = self.settings.breakers
        issues = check_data(history, now, limits.stale_after_periods, limits.jump_sigma)
        snapshot = MarketSnapshot(
            info=data.info, now_ms=now, last=last, bars_seen=len(history), issues=issues
        )
        return snapshot, data

    def ledger(self) -> LedgerStore:
        return open_account_ledger(self.settings, self.root, self.account_name, None)

    def breakers(self) -> BreakerSnapshot:
        storage = storage_for(self.settings, self.root)
        store = RiskState(self.root, storage.state_store("risk_state"))
        return BreakerBoard(store, self.account_name, self.settings.breakers).status()


def open_account_ledger(
    settings: Settings, root: Path, account: str, run_id: str | None
) -> LedgerStore:
    """The account's ledger (the account created on first use), writing for `run_id`."""
    storage = storage_for(settings, root)
    execution = settings.execution
    book = storage.accounts()
    try:
        record = book.open_account(
            account, execution.initial_cash, execution.quote_currency, _wall_ms()
        )
    finally:
        book.close()
    return storage.ledger(record.name, record.initial_cash, record.quote, run_id=run_id)


@cache
def _opened(spec: str, symbol: str | None, timeframe: str | None) -> MarketData:
    info, series = open_market(MarketRequest(spec=spec, symbol=symbol, timeframe=timeframe))
    return MarketData(info, series)


def proposal_of(idea: TradeIdea, portfolio: Portfolio, price: float) -> Proposal:
    """The idea as the validator reads a proposal: a BUY as a fraction of equity at `price`,
    a SELL as a fraction of the position; a person's order carries full confidence."""
    marks = {idea.symbol: price}
    if idea.side == "buy":
        equity = portfolio.equity(marks)
        fraction = idea.quantity * (idea.limit_price or price) / equity if equity > 0 else 0.0
    else:
        held = portfolio.quantity(idea.symbol)
        fraction = idea.quantity / held if held > 0 else 1.0
    return Proposal(
        action=Action.BUY if idea.side == "buy" else Action.SELL,
        symbol=idea.symbol,
        size_fraction=fraction,
        order_type=OrderType.LIMIT if idea.limit_price else OrderType.MARKET,
        limit_price=idea.limit_price,
        stop_loss=idea.stop_price,
        confidence=1.0,
        thesis=idea.thesis or "asked for in the chat",
    )


@dataclass(frozen=True)
class IdeaCheck:
    account: str
    idea: TradeIdea
    verdict: Verdict
    checks: tuple[ValidatorCheck, ...]
    now_ms: int

    @property
    def approved(self) -> bool:
        return isinstance(self.verdict, Approved)

    @property
    def refusal_codes(self) -> tuple[str, ...]:
        return self.verdict.codes if isinstance(self.verdict, Denied) else ()


def chat_order_id(account: str, approval_id: str) -> str:
    digest = hashlib.sha256(f"chat|{account}|{approval_id}".encode()).hexdigest()
    return f"tg-{digest[:29]}"


def check_idea(desk: ChatDesk, idea: TradeIdea, *, client_order_id: str) -> IdeaCheck:
    """`risk.validate` on the idea for the desk's account, now."""
    snapshot, _ = desk.snapshot(idea.symbol)
    ledger = desk.ledger()
    try:
        proposal = proposal_of(idea, ledger.portfolio, snapshot.price)
        context = RiskContext(open_orders=tuple(ledger.pending_orders()))
        verdict = validate(
            proposal,
            ledger.portfolio,
            snapshot,
            desk.settings.risk,
            desk.breakers(),
            snapshot.now_ms,
            client_order_id=client_order_id,
            context=context,
        )
    finally:
        ledger.close()
    refusals = tuple(getattr(verdict, "refusals", ()))
    checks = [ValidatorCheck(name=r.code.name, passed=False, detail=str(r)) for r in refusals]
    if isinstance(verdict, Approved):
        order = verdict.order
        detail = f"{order.side} {order.quantity:g} {order.symbol}, notional {order.notional:,.2f}"
        checks.append(ValidatorCheck(name="risk.validate", passed=True, detail=detail))
    return IdeaCheck(desk.account_name, idea, verdict, tuple(checks), snapshot.now_ms)


def validate_proposal(
    desk: ChatDesk, proposal: TradeIdea, *, thread: str, approval_id: str, ttl_s: int
) -> PendingApproval:
    """The validator's verdict on `proposal`, as a person reads it before approving."""
    account = desk.account_name
    checked = check_idea(desk, proposal, client_order_id=chat_order_id(account, approval_id))
    verdict = checked.verdict
    order = verdict.order if isinstance(verdict, Approved) else None
    created = desk.now_ms()
    return PendingApproval(
        approval_id=approval_id,
        thread=thread,
        account=account,
        symbol=proposal.symbol,
        side=proposal.side,
        quantity=order.quantity if order else proposal.quantity,
        order_type="limit" if proposal.limit_price else "market",
        limit_price=proposal.limit_price,
        stop_price=proposal.stop_price,
        approved_by_validator=checked.approved,
        refusal_codes=checked.refusal_codes,
        checks=checked.checks,
        created_at_ms=created,
        expires_at_ms=created + ttl_s * 1000,
    )


class SymbolQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str | None = Field(default=None, max_length=32)
    timeframe: str | None = Field(default=None, max_length=8)


class BacktestQuery(SymbolQuery):
    strategy: str = Field(max_length=64)
    days: int = Field(default=90, ge=1, le=3650)


class Lines(BaseModel):
    model_config = ConfigDict(frozen=True)

    lines: list[str]


class TraceQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    trace_id: str = Field(max_length=200)


class NoInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _backtest(desk: ChatDesk) -> Callable[[BacktestQuery, ToolContext], Any]:
    def run(query: BacktestQuery, context: ToolContext) -> Any:
        data = desk.candles(query.symbol, query.timeframe)
        per_day = 86_400 // timeframe_seconds(data.info.timeframe)
        payload = {"strategy": query.strategy, "candles": max(2, query.days * max(1, per_day))}
        backtest = TOOLBOX.get("backtest_strategy")
        return backtest.run(backtest.input_model.model_validate(payload), ToolContext(market=data))

    return run


def _lines(make: Callable[[ChatDesk], list[str]], desk: ChatDesk) -> Callable[..., Lines]:
    return lambda query, context: Lines(lines=make(desk))


def _risk_lines(desk: ChatDesk) -> list[str]:
    snapshot = desk.breakers()
    limits = desk.settings.risk.model_dump(mode="json")
    return [
        f"account {desk.account_name}: {snapshot.state}",
        *(f"breaker: {reason}" for reason in snapshot.reasons),
        "limits: " + json.dumps(limits, sort_keys=True),
    ]


def _portfolio_lines(desk: ChatDesk) -> list[str]:
    ledger = desk.ledger()
    portfolio = ledger.portfolio
    ledger.close()
    lines = [f"account {desk.account_name}: cash {portfolio.cash:,.2f} {portfolio.quote_currency}"]
    lines += [
        f"{p.symbol}: {p.quantity:g} at {p.avg_price:g} stop {p.stop_loss}"
        for p in portfolio.positions.values()
    ]
    return lines


def chat_registry(desk: ChatDesk) -> ToolRegistry:
    """The interim chat tools: a backtest over the desk's market, risk and portfolio lines."""
    registry = ToolRegistry()
    registry.register(
        Tool(
            name="backtest_strategy",
            description="Backtest a named strategy on SYMBOL TIMEFRAME over the last DAYS days.",
            input_model=BacktestQuery,
            output_model=BaseModel,
            run=_backtest(desk),
            scope="chat",
            keep_none=True,
        )
    )
    for name, make, text in (
        ("risk_status", _risk_lines, "The account's trading state, breakers and risk limits."),
        ("portfolio", _portfolio_lines, "The account's cash and positions."),
        ("list_agents", lambda desk: ["no agents (interim desk)"], "The scheduled agents."),
    ):
        registry.register(
            Tool(
                name=name,
                description=text,
                input_model=NoInput,
                output_model=Lines,
                run=_lines(make, desk),
                scope="chat",
            )
        )
    return registry


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000
