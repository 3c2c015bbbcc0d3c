"""A trade proposed in the chat, checked by the real validator against the real account.

`validate_proposal` runs `risk.validate` on a `TradeIdea` with the account's ledger (cash,
positions, pending and recent orders), its breakers as stored (a halt holds, a disagreeing
halt log reads as a halt) and the market's last closed candle, and returns what a person
approving reads: the verdict, each check, the order it would place. Nothing is placed: the
verdict is only shown. Placing happens when a person approves, and validates again then
(`check_idea` is what both call; its Approved verdict is the signed order a broker accepts).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from core.market.history import MarketHistory
from core.types import (
    Action,
    Approved,
    Denied,
    MarketSnapshot,
    OrderType,
    Proposal,
    RecentOrder,
    Refusal,
    RiskContext,
    Side,
    Verdict,
)
from core.types import RefusalCode as Code
from graphs.chat.contract import PendingApproval, ValidatorCheck
from graphs.chat.desk_base import MAX_LINE, ChatDesk, clip, one_line_reason
from graphs.chat.desk_market import OpenedMarket, current_market, history_of, market_now
from graphs.chat.desk_stores import AccountBook, open_ledger, read_account, read_marks, read_risk
from graphs.chat.validator_checks import Asked, listed_checks
from graphs.market_book import MarketBook
from risk.validator import validate
from tools.data_checks import check_data
from tools.features import compute_features

HISTORY = 1000
"""Closed candles the data checks and the volatility read (the outlier scale needs 720)."""
DAY_MS = 86_400_000
MAX_TTL_S = 7 * 86_400

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,15}/[A-Z0-9]{1,15}$")]


class TradeIdea(BaseModel):
    """A trade a model (or a person) proposes in the chat: a wish the validator decides on."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    symbol: Symbol = Field(description="the pair, like BTC/USDT")
    side: Literal["buy", "sell"]
    quantity: float = Field(gt=0, le=1e9, description="base currency units, like 0.05 BTC")
    order_type: Literal["market", "limit"] = "market"
    limit_price: float | None = Field(default=None, gt=0, le=1e12, description="limit only")
    stop_price: float | None = Field(
        default=None, gt=0, le=1e12, description="the stop-loss an entry rests with"
    )
    thesis: str = Field(default="", max_length=2000, description="why, in a few sentences")
    confidence: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="how sure the proposer is; entries below risk.min_confidence are refused",
    )

    @model_validator(mode="after")
    def _limit_price_with_limit_orders(self) -> TradeIdea:
        if self.order_type == "limit" and self.limit_price is None:
            raise ValueError("a limit order needs limit_price")
        if self.order_type == "market" and self.limit_price is not None:
            raise ValueError("limit_price is for limit orders: set order_type to limit")
        return self


def chat_order_id(account: str, approval_id: str) -> str:
    """The client order id of an approval: the same at proposal and at approval, so the
    broker's idempotency and the duplicate guard see one order."""
    digest = hashlib.sha256(f"chat|{account}|{approval_id}".encode()).hexdigest()
    return f"tg-{digest[:29]}"


@dataclass(frozen=True)
class IdeaCheck:
    """The validator's verdict on an idea (Approved carries the signed order) and its lines."""

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


def check_idea(desk: ChatDesk, idea: TradeIdea, *, client_order_id: str) -> IdeaCheck:
    """`risk.validate` on `idea` for the desk's account, now. Never raises for the idea: a
    market that cannot be opened denies UNKNOWN_SYMBOL, anything else INTERNAL_ERROR."""
    account = desk.account_name
    try:
        opened = current_market(desk, idea.symbol)
    except ValueError as error:
        refusal = Refusal(
            code=Code.UNKNOWN_SYMBOL, detail=clip(str(error), MAX_LINE, one_line=True)
        )
        return _refused(desk, account, idea, refusal)
    try:
        return _check(desk, account, idea, opened, client_order_id)
    except Exception as error:  # fail closed, as the validator itself does
        refusal = Refusal(code=Code.INTERNAL_ERROR, detail=one_line_reason(error))
        return _refused(desk, account, idea, refusal)


def _refused(desk: ChatDesk, account: str, idea: TradeIdea, refusal: Refusal) -> IdeaCheck:
    line = ValidatorCheck(name="market", passed=False, detail=str(refusal))
    return IdeaCheck(account, idea, Denied(refusals=(refusal,)), (line,), desk.now_ms())


def _check(
    desk: ChatDesk, account: str, idea: TradeIdea, opened: OpenedMarket, client_order_id: str
) -> IdeaCheck:
    now = market_now(desk, opened)
    history = history_of(opened, HISTORY)
    limits = desk.settings.risk
    snapshot = MarketSnapshot(
        info=opened.info,
        now_ms=now,
        last=history.last(),
        bars_seen=len(history),
        issues=check_data(
            history, now, desk.settings.breakers.stale_after_periods,
            desk.settings.breakers.jump_sigma,
        ),
    )  # fmt: skip
    book = read_account(desk, account)
    risk = read_risk(desk, account)
    held = [s for s, p in book.portfolio.positions.items() if p.quantity > 0 and s != idea.symbol]
    marks = read_marks(desk, held).prices
    proposal = proposal_for(idea, book, snapshot.price)
    features = compute_features(history)
    context = RiskContext(
        open_orders=book.pending,
        recent_orders=recent_orders(desk, account, now),
        marks={s: p for s, p in marks.items() if p > 0 and math.isfinite(p)},
        correlations=_correlations(desk, opened, history, held),
        volatility=features.volatility if features.ready else None,
        rules=opened.info.rules,
    )
    verdict = validate(
        proposal, book.portfolio, snapshot, limits, risk.snapshot, now,
        client_order_id=client_order_id, context=context,
    )  # fmt: skip
    asked = Asked(
        side=Side.BUY if idea.side == "buy" else Side.SELL,
        quantity=idea.quantity,
        price=idea.limit_price if idea.limit_price is not None else snapshot.price,
        stop=idea.stop_price,
        confidence=idea.confidence,
        limits=limits,
        breakers=risk.snapshot,
        market=snapshot,
        portfolio=book.portfolio,
        marks=marks,
    )
    return IdeaCheck(account, idea, verdict, listed_checks(verdict, asked), now)


def proposal_for(idea: TradeIdea, book: AccountBook, price: float) -> Proposal:
    """The idea as the analyst's proposal the validator reads: a buy's quantity as a fraction
    of equity at the reference price, a sell's as a fraction of the holding."""
    held = book.portfolio.quantity(idea.symbol)
    if idea.side == "buy":
        equity = book.portfolio.equity({idea.symbol: price})
        fraction = idea.quantity * price / equity if equity > 0 else math.inf
    else:
        fraction = idea.quantity / held if held > 0 else 0.0
    return Proposal.model_construct(
        action=Action.BUY if idea.side == "buy" else Action.SELL,
        symbol=idea.symbol,
        size_fraction=fraction,
        order_type=OrderType.LIMIT if idea.order_type == "limit" else OrderType.MARKET,
        limit_price=idea.limit_price,
        stop_loss=idea.stop_price,
        take_profit=None,
        confidence=idea.confidence,
        thesis=idea.thesis,
    )


def recent_orders(desk: ChatDesk, account: str, now: int) -> tuple[RecentOrder, ...]:
    with open_ledger(desk, account) as ledger:
        if ledger is None:
            return ()
        orders = [order for order, _ in ledger.orders() if order.created_ms >= now - DAY_MS]
    return tuple(
        RecentOrder(symbol=o.symbol, side=o.side, quantity=o.quantity, created_ms=o.created_ms)
        for o in orders
        if o.created_ms <= now
    )


def _correlations(
    desk: ChatDesk, opened: OpenedMarket, history: MarketHistory, held: list[str]
) -> dict[str, float]:
    """How the traded symbol moves with each one held, over the same market's candles (a
    held symbol the market does not have is left out, as the validator takes none)."""
    histories = {opened.info.symbol: history}
    for symbol in held:
        try:
            histories[symbol] = history_of(
                current_market(desk, symbol, opened.info.timeframe), HISTORY
            )
        except ValueError:
            continue
    return MarketBook(histories).correlations(opened.info.symbol, held)


def validate_proposal(
    desk: ChatDesk, proposal: TradeIdea, *, thread: str, approval_id: str, ttl_s: int
) -> PendingApproval:
    """The validator's verdict on `proposal` for a person to approve within `ttl_s` seconds
    (or, denied, to read): each check, the refusal codes, the order it would place. Nothing is
    placed."""
    if not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be within 1..{MAX_TTL_S}, got {ttl_s}")
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
        order_type=proposal.order_type,
        limit_price=order.limit_price if order else proposal.limit_price,
        stop_price=order.stop_price if order else proposal.stop_price,
        approved_by_validator=checked.approved,
        refusal_codes=checked.refusal_codes,
        checks=checked.checks,
        created_at_ms=created,
        expires_at_ms=created + ttl_s * 1000,
    )
