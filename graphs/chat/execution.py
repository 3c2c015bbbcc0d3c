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

import hashlib

from pydantic import BaseModel, ConfigDict

from core.types import Approved, Candle, Fill, Order, Proposal, TradingState
from graphs.chat.contract import PendingApproval
from graphs.chat.interim_desk import ChatDesk, TradeIdea, verdict_now
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

    @property
    def refusal_codes(self) -> tuple[str, ...]:
        return tuple(line.split(":", 1)[0].split(" ", 1)[0] for line in self.refusals)


def chat_order_id(account: str, thread: str, approval_id: str) -> str:
    """Deterministic per account, thread and approval (the format of the engine's ids)."""
    digest = hashlib.sha256(f"chat|{account}|{thread}|{approval_id}".encode()).hexdigest()
    return f"tg-{digest[:29]}"


def approved_idea(pending: PendingApproval, thesis: str) -> TradeIdea:
    """The order the person saw and approved, as an idea to validate again."""
    return TradeIdea(
        side=pending.side,
        quantity=pending.quantity,
        symbol=pending.symbol,
        limit_price=pending.limit_price,
        stop_price=pending.stop_price,
        thesis=thesis,
    )


def execute_approval(
    desk: ChatDesk, pending: PendingApproval, *, thesis: str, run_id: str
) -> Execution:
    """Validate the approved order again now; if it still passes, place it on paper and fill
    it at the last price. Idempotent by client order id."""
    order_id = chat_order_id(pending.account, pending.thread, pending.approval_id)
    idea = approved_idea(pending, thesis)
    verdict, proposal, snapshot, ledger = verdict_now(desk, idea, order_id)
    ledger.close()
    state = desk.breakers().state
    if not isinstance(verdict, Approved):
        refusals = tuple(str(r) for r in getattr(verdict, "refusals", ()))
        equity = _equity(desk, snapshot.info.symbol, snapshot.price)
        codes = ", ".join(line.split(":", 1)[0] for line in refusals) or "no order"
        return Execution(
            placed=False,
            proposal=proposal,
            refusals=refusals,
            trading_state=state,
            equity=equity,
            summary=f"not placed: the validator refuses it now ({codes})",
        )
    execution = desk.settings.execution
    ledger = desk.ledger(run_id)
    try:
        broker = PaperBroker(
            ledger, fee_rate=execution.fee_rate, slippage_bps=execution.slippage_bps
        )
        order = broker.submit(verdict)
        price = snapshot.price
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
        trading_state=state,
        equity=equity,
        summary=_filled(order, fills),
    )


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


def _equity(desk: ChatDesk, symbol: str, price: float) -> float:
    return desk.portfolio().equity({symbol: price})
