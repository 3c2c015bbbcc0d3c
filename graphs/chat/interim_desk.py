"""A stand-in for the chat's desk (branch chat-desk: `graphs.chat.desk`) until it lands: the
same names (`ChatDesk`, `chat_registry`, `validate_proposal`, `TradeIdea`), a few tools over
the toolbox and the stores, and the validator path of a proposal. Deleted when the real desk
is merged."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.accounts import check_account_name
from core.backends import LedgerStore, storage_for
from core.datadir import prepare_data_dir
from core.market.source import MarketRequest, open_market
from core.risk_state import RiskState
from core.settings import Settings
from core.types import (
    Action,
    BreakerSnapshot,
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


class ChatDesk:
    """What the chat's tools and trades read: the data directory's stores, one account, one
    market source, and a `now` (the market's last close when not given)."""

    def __init__(
        self,
        settings: Settings,
        account: str | None = None,
        market: str | None = None,
        now_ms: int | None = None,
    ) -> None:
        self.settings = settings
        self.root: Path = prepare_data_dir(settings.data_dir)
        self.storage = storage_for(settings, self.root)
        self.account = check_account_name(account) if account else DEFAULT_ACCOUNT
        self.market = market or settings.market
        self.fixed_now_ms = now_ms

    def candles(self, symbol: str | None, timeframe: str | None = None) -> MarketData:
        return _opened(self.market, symbol, timeframe)

    def snapshot(self, symbol: str) -> tuple[MarketSnapshot, MarketData]:
        """The market of `symbol` at its last close (or the desk's `now`), with data checks."""
        from core.market.history import MarketHistory

        data = self.candles(symbol)
        history = MarketHistory(data.info, capacity=len(data.candles) + 1)
        for i in range(len(data.candles)):
            history.append(data.candles.candle(i))
        last = history.last()
        now = self.now_ms(data)
        limits = self.settings.breakers
        issues = check_data(history, now, limits.stale_after_periods, limits.jump_sigma)
        snapshot = MarketSnapshot(
            info=data.info, now_ms=now, last=last, bars_seen=len(history), issues=issues
        )
        return snapshot, data

    def now_ms(self, data: MarketData) -> int:
        if self.fixed_now_ms is not None:
            return self.fixed_now_ms
        last = int(data.candles.ts[-1])
        return last + timeframe_seconds(data.info.timeframe) * 1000

    def ledger(self, run_id: str | None = None) -> LedgerStore:
        execution = self.settings.execution
        book = self.storage.accounts()
        try:
            account = book.open_account(
                self.account, execution.initial_cash, execution.quote_currency, _wall_ms()
            )
        finally:
            book.close()
        return self.storage.ledger(account.name, account.initial_cash, account.quote, run_id=run_id)

    def portfolio(self) -> Portfolio:
        ledger = self.ledger()
        try:
            return ledger.portfolio
        finally:
            ledger.close()

    def board(self) -> BreakerBoard:
        store = RiskState(self.root, self.storage.state_store("risk_state"))
        return BreakerBoard(store, self.account, self.settings.breakers)

    def breakers(self) -> BreakerSnapshot:
        return self.board().status()


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


def verdict_now(
    desk: ChatDesk, idea: TradeIdea, client_order_id: str
) -> tuple[Verdict, Proposal, MarketSnapshot, LedgerStore]:
    """The validator's verdict on the idea at this moment, with the ledger it read (open: the
    caller closes it)."""
    snapshot, _ = desk.snapshot(idea.symbol)
    ledger = desk.ledger()
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
    return verdict, proposal, snapshot, ledger


def validate_proposal(
    desk: ChatDesk, idea: TradeIdea, *, thread: str, approval_id: str, ttl_s: float
) -> PendingApproval:
    """The validator's verdict on `idea`, as a person reads it before approving."""
    from graphs.chat.execution import chat_order_id

    verdict, _, snapshot, ledger = verdict_now(
        desk, idea, chat_order_id(desk.account, thread, approval_id)
    )
    ledger.close()
    now = _wall_ms()
    approved = verdict.kind == "approved"
    refusals = tuple(getattr(verdict, "refusals", ()))
    checks = [ValidatorCheck(name=r.code.name, passed=False, detail=str(r)) for r in refusals]
    quantity = idea.quantity
    if approved:
        order = verdict.order  # type: ignore[union-attr]
        quantity = order.quantity
        checks.append(
            ValidatorCheck(
                name="risk.validate",
                passed=True,
                detail=f"{order.side} {order.quantity:g} {order.symbol} at about "
                f"{snapshot.price:g}, notional {order.notional:,.2f}",
            )
        )
    return PendingApproval(
        approval_id=approval_id,
        thread=thread,
        account=desk.account,
        symbol=idea.symbol,
        side=idea.side,
        quantity=quantity,
        order_type="limit" if idea.limit_price else "market",
        limit_price=idea.limit_price,
        stop_price=idea.stop_price,
        approved_by_validator=approved,
        refusal_codes=tuple(r.code.name for r in refusals),
        checks=tuple(checks),
        created_at_ms=now,
        expires_at_ms=now + int(ttl_s * 1000),
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
        f"account {desk.account}: {snapshot.state}",
        *(f"breaker: {reason}" for reason in snapshot.reasons),
        "limits: " + json.dumps(limits, sort_keys=True),
    ]


def _portfolio_lines(desk: ChatDesk) -> list[str]:
    portfolio = desk.portfolio()
    lines = [f"account {desk.account}: cash {portfolio.cash:,.2f} {portfolio.quote_currency}"]
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
            name="backtest",
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
