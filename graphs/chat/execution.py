"""Placing a trade a person approved in the chat: validated again at that moment, then sent
through the account's broker as the engine sends an order.

The approval a person gave is for the order shown; markets, the account and the breakers may
have moved since, so the proposal goes through `risk.validate` once more and only a fresh
approval reaches the broker. The client order id derives from the account, the thread and the
approval, so an execution repeated after a crash finds the order it sent (and its fill) rather
than sending a second. Chat trades are paper trades: the paper broker fills a market order at
the last price, with the engine's slippage and fees; a limit order the last price does not
reach is cancelled (one candle in force, as in the engine).
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from core.backends import LedgerStore, storage_for
from core.settings import Settings
from core.types import Action, Approved, Candle, Fill, Order, OrderType, Proposal, TradingState
from graphs.chat.contract import PendingApproval
from graphs.chat.desk import ChatDesk, TradeIdea, chat_order_id, check_idea
from tools.execution.paper import PaperBroker


class Execution(BaseModel):
    """What came of an approved proposal: the order placed and its fills, or the refusals of
    the validator at the moment of execution."""

    model_config = ConfigDict(frozen=True)

    placed: bool
    proposal: Proposal
    order: Order | None = None
    fills: tuple[Fill, ...] = ()
    refusals: tuple[str, ...] = ()
    trading_state: TradingState = TradingState.ACTIVE
    equity: float
    summary: str


def approved_idea(pending: PendingApproval, idea: TradeIdea) -> TradeIdea:
    """The order the person saw and approved (the validator's quantity), to validate again."""
    return idea.model_copy(update={"quantity": pending.quantity})


def execute_approval(
    desk: ChatDesk, pending: PendingApproval, idea: TradeIdea, *, run_id: str
) -> Execution:
    """Validate the approved order again now; if it still passes, place it on paper and fill
    it at the last price. Idempotent by client order id."""
    order_id = chat_order_id(pending.account, pending.approval_id)
    checked = check_idea(desk, approved_idea(pending, idea), client_order_id=order_id)
    verdict = checked.verdict
    proposal = trade_proposal(pending, idea)
    settings = desk.settings
    ledger = open_account_ledger(settings, desk.root, pending.account, run_id)
    try:
        if not isinstance(verdict, Approved):
            refusals = tuple(str(r) for r in getattr(verdict, "refusals", ()))
            codes = ", ".join(checked.refusal_codes) or "no order"
            return Execution(
                placed=False,
                proposal=proposal,
                refusals=refusals,
                trading_state=_state(checked.refusal_codes),
                equity=ledger.portfolio.equity({}),
                summary=f"not placed: the validator refuses it now ({codes})",
            )
        execution = settings.execution
        broker = PaperBroker(
            ledger, fee_rate=execution.fee_rate, slippage_bps=execution.slippage_bps
        )
        order = broker.submit(verdict)
        price = order.reference_price
        quote = Candle(
            ts=order.created_ms, open=price, high=price, low=price, close=price, volume=0.0
        )
        broker.on_candle(order.symbol, quote)
        fills = tuple(f for f in ledger.fills(run_id) if f.client_order_id == order_id)
        equity = ledger.portfolio.equity({order.symbol: price})
    finally:
        ledger.close()
    return Execution(
        placed=True,
        proposal=proposal,
        order=order,
        fills=fills,
        equity=equity,
        summary=_filled(order, fills),
    )


def open_account_ledger(settings: Settings, root: Path, account: str, run_id: str) -> LedgerStore:
    """The account's ledger (the account created on first use, with the settings' cash),
    writing its rows on behalf of `run_id` (the thread's chain, which records them)."""
    storage = storage_for(settings, root)
    execution = settings.execution
    book = storage.accounts()
    try:
        record = book.open_account(
            account, execution.initial_cash, execution.quote_currency, time.time_ns() // 10**6
        )
    finally:
        book.close()
    return storage.ledger(record.name, record.initial_cash, record.quote, run_id=run_id)


def trade_proposal(pending: PendingApproval, idea: TradeIdea) -> Proposal:
    """The proposal as the trace keeps it: the order approved, its size in the thesis (a
    person's quantity, not the analyst's fraction of equity)."""
    thesis = f"{pending.side} {pending.quantity:g} {pending.symbol}: {idea.thesis}"
    return Proposal(
        action=Action.BUY if pending.side == "buy" else Action.SELL,
        symbol=pending.symbol,
        order_type=OrderType(pending.order_type),
        limit_price=pending.limit_price,
        stop_loss=pending.stop_price,
        confidence=1.0,
        thesis=thesis[:4000],
    )


def _state(codes: tuple[str, ...]) -> TradingState:
    if "HALTED" in codes:
        return TradingState.HALTED
    return TradingState.REDUCING if "REDUCING_ONLY" in codes else TradingState.ACTIVE


def _filled(order: Order, fills: tuple[Fill, ...]) -> str:
    if not fills:
        return (
            f"placed {order.side} {order.quantity:g} {order.symbol} ({order.client_order_id}) "
            "on paper: not filled at the last price, cancelled"
        )
    quantity = sum(f.quantity for f in fills)
    price = sum(f.quantity * f.price for f in fills) / quantity
    fee = sum(f.fee for f in fills)
    return (
        f"filled {order.side} {quantity:g} {order.symbol} at {price:,.2f} on paper, fee "
        f"{fee:,.4f} ({order.client_order_id})"
    )
