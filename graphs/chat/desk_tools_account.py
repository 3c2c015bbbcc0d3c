"""The account as the chat reads it: its risk state and headroom, its portfolio, its orders
and fills. Read-only: nothing here can change a limit, a mode or a breaker, or place an order
(`tradegraph risk halt|resume` are a person's commands, and there is no tool for them)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.accounts import check_account_name
from core.errors import UserError
from core.types import Fill, Order
from graphs.chat.desk_base import MAX_LINE, ChatDesk, capped, chat_tool, clip
from graphs.chat.desk_stores import (
    AccountBook,
    Marks,
    known_accounts,
    read_account,
    read_marks,
    read_risk,
)
from risk.breakers.keys import account_key
from risk.breakers.registry import account_breakers
from tools.registry import Tool

MAX_ROWS = 50
DAY_MS = 86_400_000
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AccountQuery(BaseModel):
    model_config = _FROZEN

    account: str | None = Field(
        default=None, max_length=80, description="an account name; default: the chat's account"
    )


def _account(desk: ChatDesk, query: AccountQuery) -> str:
    if query.account is None:
        return desk.account_name
    name = query.account.strip()
    if not name.startswith("replay:"):
        try:
            check_account_name(name)
        except UserError as error:
            raise ValueError(str(error).replace("--account", "account")) from None
    return name


class BreakerLine(BaseModel):
    """One breaker: "ok", or the stage it holds trading at and why."""

    model_config = ConfigDict(frozen=True)

    breaker: str
    state: str
    reason: str = ""


class Headroom(BaseModel):
    """How far the account is from each limit (fractions of equity)."""

    model_config = ConfigDict(frozen=True)

    equity: float
    exposure_used: float
    exposure_allowed: float
    open_positions: int
    open_positions_allowed: int
    daily_loss: float
    daily_loss_limit: float
    drawdown: float
    drawdown_reduce_size: float
    drawdown_reducing: float
    drawdown_halt: float
    high_water_mark: float


class RiskStatusView(BaseModel):
    """The account's trading state, its breakers, the global kill switch, the limits in force
    and the headroom left, as stored (read-only: `tradegraph risk` changes them)."""

    model_config = ConfigDict(frozen=True)

    account: str
    known: bool
    state: Literal["ACTIVE", "REDUCING", "HALTED"]
    halted: bool
    global_kill_switch: BreakerLine
    breakers: list[BreakerLine]
    halt_log: str
    limits: dict[str, Any]
    headroom: Headroom
    marks_missing: dict[str, str] = {}


def _breaker_lines(desk: ChatDesk, demands: dict[str, tuple[str, str]]) -> list[BreakerLine]:
    names = ["kill_switch", *(b.name for b in account_breakers(desk.settings.breakers))]
    return [
        BreakerLine(breaker=name, state=demands[name][0], reason=demands[name][1])
        if name in demands
        else BreakerLine(breaker=name, state="ok")
        for name in names
    ]


def risk_status(desk: ChatDesk, query: AccountQuery) -> RiskStatusView:
    account = _account(desk, query)
    risk = read_risk(desk, account)
    book = read_account(desk, account)
    snapshot = risk.snapshot
    demands = {
        d.breaker: (d.stage.value, clip(d.reason, MAX_LINE, one_line=True))
        for d in snapshot.demands
    }
    global_line = BreakerLine(
        breaker="global_kill_switch",
        state=demands.pop("global_kill_switch", ("ok", ""))[0],
        reason=clip(
            next((d.reason for d in snapshot.demands if d.breaker == "global_kill_switch"), ""),
            MAX_LINE,
            one_line=True,
        ),
    )
    marks = _marks(desk, book)
    equity = book.portfolio.equity(marks.prices)
    settings = desk.settings
    headroom = Headroom(
        equity=round(equity, 2),
        exposure_used=_fraction(book.portfolio.exposure(marks.prices), equity),
        exposure_allowed=settings.risk.max_gross_exposure,
        open_positions=sum(p.quantity > 0 for p in book.portfolio.positions.values()),
        open_positions_allowed=settings.risk.max_open_positions,
        daily_loss=_daily_loss(risk.store.get(account_key(account, "daily_loss")), equity, desk),
        daily_loss_limit=settings.breakers.daily_loss_limit,
        drawdown=_drawdown(snapshot.high_water_mark, equity),
        drawdown_reduce_size=settings.breakers.drawdown_reduce_size,
        drawdown_reducing=settings.breakers.drawdown_reducing,
        drawdown_halt=settings.breakers.drawdown_halt,
        high_water_mark=round(snapshot.high_water_mark, 2),
    )
    problem = f"; DISAGREES with the store: {risk.latch_problem}" if risk.latch_problem else ""
    return RiskStatusView(
        account=account,
        known=book.exists,
        state=snapshot.state.value,
        halted=snapshot.state.value == "HALTED",
        global_kill_switch=global_line,
        breakers=_breaker_lines(desk, demands),
        halt_log=f"{risk.halt_log_events} event(s), head {risk.halt_log_head}{problem}",
        limits=_limits(desk),
        headroom=headroom,
        marks_missing=marks.missing,
    )


def _limits(desk: ChatDesk) -> dict[str, Any]:
    return {
        "risk": desk.settings.risk.model_dump(mode="json"),
        "breakers": desk.settings.breakers.model_dump(mode="json"),
    }


def _marks(desk: ChatDesk, book: AccountBook) -> Marks:
    held = [s for s, p in book.portfolio.positions.items() if p.quantity != 0]
    return read_marks(desk, held) if held else Marks({}, {})


def _fraction(part: float, whole: float) -> float:
    return round(part / whole, 6) if whole > 0 else 0.0


def _drawdown(high_water_mark: float, equity: float) -> float:
    if high_water_mark <= 0:
        return 0.0
    return round(max(0.0, (high_water_mark - equity) / high_water_mark), 6)


def _daily_loss(record: str | None, equity: float, desk: ChatDesk) -> float:
    """The loss since the start of today's UTC day as the daily-loss breaker stored it (0
    when its record is of an earlier day: a new day starts from the next equity)."""
    try:
        stored = json.loads(record) if record else {}
        day, start = stored.get("day"), stored.get("start_equity")
    except (ValueError, AttributeError):
        return 0.0
    if day != desk.now_ms() // DAY_MS or not isinstance(start, int | float) or start <= 0:
        return 0.0
    return round(max(0.0, (start - equity) / start), 6)


class PositionLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str
    quantity: float
    avg_price: float
    mark: float
    mark_source: str
    value: float
    unrealized_pnl: float
    stop_loss: float | None


class PortfolioView(BaseModel):
    """Cash, positions marked at the desk market's last close (at entry when it has none of
    the symbol), equity and what the account started with."""

    model_config = ConfigDict(frozen=True)

    account: str
    known: bool
    quote_currency: str
    cash: float
    positions: list[PositionLine]
    equity: float
    initial_cash: float
    total_return: float
    pending_orders: int
    known_accounts: list[str] = []


def portfolio(desk: ChatDesk, query: AccountQuery) -> PortfolioView:
    account = _account(desk, query)
    book = read_account(desk, account)
    marks = _marks(desk, book)
    lines = []
    for symbol, position in sorted(book.portfolio.positions.items()):
        if position.quantity == 0:
            continue
        mark = marks.prices.get(symbol, position.avg_price)
        source = desk.market_spec if symbol in marks.prices else "entry price (no market price)"
        lines.append(
            PositionLine(
                symbol=symbol,
                quantity=position.quantity,
                avg_price=position.avg_price,
                mark=mark,
                mark_source=clip(source, MAX_LINE, one_line=True),
                value=round(position.quantity * mark, 2),
                unrealized_pnl=round(position.quantity * (mark - position.avg_price), 2),
                stop_loss=position.stop_loss,
            )
        )
    equity = book.portfolio.equity(marks.prices)
    others = [] if book.exists else known_accounts(desk)[:MAX_ROWS]
    return PortfolioView(
        account=account,
        known=book.exists,
        quote_currency=book.portfolio.quote_currency,
        cash=round(book.portfolio.cash, 2),
        positions=lines[:MAX_ROWS],
        equity=round(equity, 2),
        initial_cash=book.initial_cash,
        total_return=_fraction(equity - book.initial_cash, book.initial_cash),
        pending_orders=len(book.pending),
        known_accounts=others,
    )


class OrdersQuery(AccountQuery):
    symbol: str | None = Field(default=None, max_length=40, description="only this pair")
    limit: int = Field(default=20, ge=1, le=MAX_ROWS, description="latest rows of each kind")


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    client_order_id: str
    time: int
    symbol: str
    side: str
    type: str
    quantity: float
    limit_price: float | None
    stop_price: float | None
    status: str


class FillLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    client_order_id: str
    time: int
    symbol: str
    side: str
    quantity: float
    price: float
    fee: float


class OrdersView(BaseModel):
    """The account's latest orders (with status) and fills, newest first; times in ms UTC."""

    model_config = ConfigDict(frozen=True)

    account: str
    known: bool
    orders: list[OrderLine]
    fills: list[FillLine]
    orders_left_out: int
    fills_left_out: int


def orders_and_fills(desk: ChatDesk, query: OrdersQuery) -> OrdersView:
    from graphs.chat.desk_stores import open_ledger

    account = _account(desk, query)
    with open_ledger(desk, account) as ledger:
        orders: list[tuple[Order, str]] = ledger.orders() if ledger else []
        fills: list[Fill] = ledger.fills() if ledger else []
    if query.symbol:
        wanted = query.symbol.strip().upper()
        orders = [(o, s) for o, s in orders if o.symbol == wanted]
        fills = [f for f in fills if f.symbol == wanted]
    newest_orders, orders_out = capped(orders[::-1], query.limit)
    newest_fills, fills_out = capped(fills[::-1], query.limit)
    return OrdersView(
        account=account,
        known=ledger is not None,
        orders=[
            OrderLine(
                client_order_id=o.client_order_id,
                time=o.created_ms,
                symbol=o.symbol,
                side=o.side.value,
                type=o.type.value,
                quantity=o.quantity,
                limit_price=o.limit_price,
                stop_price=o.stop_price,
                status=status,
            )
            for o, status in newest_orders
        ],
        fills=[
            FillLine(
                client_order_id=f.client_order_id,
                time=f.ts,
                symbol=f.symbol,
                side=f.side.value,
                quantity=f.quantity,
                price=f.price,
                fee=f.fee,
            )
            for f in newest_fills
        ],
        orders_left_out=orders_out,
        fills_left_out=fills_out,
    )


def account_tools(desk: ChatDesk) -> tuple[Tool[Any, Any], ...]:
    return (
        chat_tool(
            "risk_status",
            "The account's trading state (ACTIVE, REDUCING, HALTED), each circuit breaker and "
            "the global kill switch with why, the limits in force and the headroom left: "
            "exposure, open positions, daily loss and drawdown against their limits. Read-only.",
            AccountQuery,
            RiskStatusView,
            lambda query: risk_status(desk, query),
        ),
        chat_tool(
            "portfolio",
            "The account's cash, positions marked at the market's last close, unrealized PnL, "
            "equity and return since it was opened.",
            AccountQuery,
            PortfolioView,
            lambda query: portfolio(desk, query),
        ),
        chat_tool(
            "orders_and_fills",
            "The account's latest orders (with status: pending, filled, cancelled, rejected) "
            "and fills, newest first, optionally of one pair.",
            OrdersQuery,
            OrdersView,
            lambda query: orders_and_fills(desk, query),
        ),
    )
