"""The operator's read side under /v1: decisions, memory, the account (portfolio, positions,
orders, fills, equity) and a market's candles, each over the engine's desk.

Every route needs a viewer's key or above and takes a token of the key's bucket (429 when it
is spent). Each route calls one desk function (graphs.chat.desk_*), the same the chat's tools
call: this module parses and answers, nothing more. `?account=` defaults to the served one.
The decisions, the portfolio and the positions are answered from `FreshAnswers`: the bytes
sent last for the same request, while the data directory's stores saw no write since.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Final, Literal, TypeVar

import anyio
from fastapi import APIRouter, Depends, Query
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

from api.server.auth import (
    KeyLookup,
    caller_with,
)
from api.server.errors import ApiError
from api.server.fresh import FreshAnswers, kept_route
from api.server.ops_query import account_of, invalid, moment, window
from api.server.rate_limit import KeyBuckets, RateLimit, limited
from core.errors import UserError
from graphs.chat.desk_base import ChatDesk, one_line_reason
from graphs.chat.desk_decisions import (
    DecisionDetail,
    DecisionQuery,
    DecisionReader,
    DecisionsPage,
    EquityHistory,
    decision_detail,
    decisions_page,
    equity_history,
)
from graphs.chat.desk_ohlcv import Ohlcv, ohlcv
from graphs.chat.desk_tools_account import (
    MAX_ROWS,
    AccountQuery,
    FillLine,
    OrderLine,
    OrdersQuery,
    PortfolioView,
    PositionLine,
    orders_and_fills,
    portfolio,
)
from graphs.chat.desk_tools_audit import MAX_RECALLED, MemoryQuery, MemoryView, memory_search

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
MAX_OFFSET: Final = 1_000_000
DEFAULT_CANDLES: Final = 500
MAX_CANDLES: Final = 5_000
MAX_EQUITY_POINTS: Final = 5_000
MARKS_S: Final = 1.0
"""A portfolio's marks move with the market, not its ledger: its answer is at most this old."""

logger = logging.getLogger(__name__)
T = TypeVar("T", bound=Callable[..., Any])

Symbol = Annotated[str | None, Query(max_length=40, description="only this pair, e.g. BTC/USDT")]
Account = Annotated[
    str | None, Query(max_length=140, description="an account name; default: the served one")
]
From = Annotated[
    str | None,
    Query(alias="from", max_length=30, description="from this time: YYYY-MM-DD[THH:MM] or ms"),
]
To = Annotated[
    str | None,
    Query(alias="to", max_length=30, description="to this time (a date: its whole day) or ms"),
]


class PositionsView(BaseModel):
    """The account's open positions, marked at the market's last close."""

    model_config = ConfigDict(frozen=True)

    account: str
    known: bool
    positions: list[PositionLine]


class OrdersList(BaseModel):
    """The account's latest orders with their status, newest first."""

    model_config = ConfigDict(frozen=True)

    account: str
    known: bool
    orders: list[OrderLine]
    left_out: int


class FillsList(BaseModel):
    """The account's latest fills, newest first."""

    model_config = ConfigDict(frozen=True)

    account: str
    known: bool
    fills: list[FillLine]
    left_out: int


def ops_router(
    desk: ChatDesk,
    keys: KeyLookup,
    limit: RateLimit | None = None,
    *,
    shared: DecisionReader | None = None,
) -> APIRouter:
    """The read routes over `desk`, each for a viewer's key or above, rate-limited per key.
    `shared` (default: a new one) is the decision reader they read, which the router warms
    while the server starts and closes when it stops: give the one other routers read too
    (the dashboard), so the store is indexed once."""
    buckets = KeyBuckets(limit or RateLimit())
    reader = shared if shared is not None else DecisionReader(desk)
    answers = FreshAnswers(reader.stamp, keys, buckets)
    kept, marked = kept_route(answers), kept_route(answers, MARKS_S)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        """The decision index built while the server starts answering (a store of 100,000
        traces takes seconds to read); the store let go once the index is no longer read."""
        warming = threading.Thread(target=_warm, args=(reader,), name="decision-index")
        warming.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(warming.join)
            reader.close()

    viewer = Depends(limited(caller_with(keys, "viewer", "reading"), buckets))
    router = APIRouter(
        prefix="/v1", tags=["operator: reads"], dependencies=[viewer], lifespan=lifespan
    )

    def kept_get(path: str, model: type[BaseModel], route: type[APIRoute]) -> Callable[[T], T]:
        """`router.get` for a route whose answers `answers` keeps (`route`: a `kept_route`)."""

        def register(endpoint: T) -> T:
            router.add_api_route(
                path, endpoint, response_model=model, methods=["GET"], route_class_override=route
            )
            return endpoint

        return register

    @kept_get("/decisions", DecisionsPage, kept)
    def list_decisions(
        symbol: Symbol = None,
        run: Annotated[str | None, Query(max_length=120, description="only this run")] = None,
        account: Annotated[
            str | None, Query(max_length=140, description="only the runs of this account")
        ] = None,
        start: From = None,
        end: To = None,
        action: Literal["BUY", "SELL", "HOLD"] | None = None,
        verdict: Literal["approved", "denied", "hold"] | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")] = 0,
    ) -> DecisionsPage:
        """Recorded decisions matching every filter, newest first, a page at a time."""
        ts_from, ts_to = window(start, end)
        query = DecisionQuery(
            symbol=symbol,
            run=run,
            account=None if account is None else account_of(desk, account),
            ts_from=ts_from,
            ts_to=ts_to,
            action=action,
            verdict=verdict,
        )
        return decisions_page(reader, query, offset=offset, limit=limit)

    @router.get(
        "/decisions/{ref}",
        response_model=DecisionDetail,
        responses={404: {"description": "no such decision"}},
    )
    def get_decision(ref: str) -> DecisionDetail:
        """One decision by RUN_ID:SEQ (as the chat's /why takes it): its full typed trace."""
        try:
            found = decision_detail(reader, ref)
        except UserError as error:
            raise invalid(str(error)) from None
        if found is None:
            raise ApiError(
                404, "unknown_decision", f"no decision {ref}: GET /v1/decisions lists them"
            )
        return found

    @router.get("/memory/search", response_model=MemoryView)
    def search_memory(
        q: Annotated[str, Query(min_length=1, max_length=300, description="a situation, in words")],
        symbol: Symbol = None,
        limit: Annotated[int, Query(ge=1, le=MAX_RECALLED)] = 5,
    ) -> MemoryView:
        """Lessons and past situations nearest in meaning to `q`."""
        if not q.strip():
            raise invalid("q is blank: say what to look for")
        if not desk.settings.chroma_url and not (desk.root / "chroma").is_dir():
            return MemoryView(lessons=[], situations=[])
        return memory_search(desk, MemoryQuery(text=q, symbol=symbol, limit=limit))

    @kept_get("/portfolio", PortfolioView, marked)
    def get_portfolio(account: Account = None) -> PortfolioView:
        """Cash, positions, equity and return of the account (marks at most a second old)."""
        return portfolio(desk, AccountQuery(account=account_of(desk, account)))

    @kept_get("/positions", PositionsView, marked)
    def get_positions(account: Account = None) -> PositionsView:
        """The account's open positions (marks at most a second old)."""
        view = portfolio(desk, AccountQuery(account=account_of(desk, account)))
        return PositionsView(account=view.account, known=view.known, positions=view.positions)

    @router.get("/orders", response_model=OrdersList)
    def get_orders(
        account: Account = None,
        symbol: Symbol = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 20,
    ) -> OrdersList:
        """The account's latest orders, newest first."""
        view = orders_and_fills(desk, _orders_query(desk, account, symbol, limit))
        return OrdersList(
            account=view.account,
            known=view.known,
            orders=view.orders,
            left_out=view.orders_left_out,
        )

    @router.get("/fills", response_model=FillsList)
    def get_fills(
        account: Account = None,
        symbol: Symbol = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 20,
    ) -> FillsList:
        """The account's latest fills, newest first."""
        view = orders_and_fills(desk, _orders_query(desk, account, symbol, limit))
        return FillsList(
            account=view.account, known=view.known, fills=view.fills, left_out=view.fills_left_out
        )

    @router.get("/equity", response_model=EquityHistory)
    def get_equity(
        account: Account = None,
        start: From = None,
        end: To = None,
        limit: Annotated[int, Query(ge=1, le=MAX_EQUITY_POINTS)] = 1_000,
    ) -> EquityHistory:
        """The account's equity as its runs recorded it at each decision, oldest first."""
        ts_from, ts_to = window(start, end)
        query = DecisionQuery(ts_from=ts_from, ts_to=ts_to)
        return equity_history(reader, account_of(desk, account), query, limit=limit)

    @router.get("/ohlcv", response_model=Ohlcv)
    def get_ohlcv(
        market: Annotated[
            str | None,
            Query(max_length=200, description="the served market (default) or synthetic[:SEED]"),
        ] = None,
        symbol: Symbol = None,
        timeframe: Annotated[str | None, Query(max_length=8, description="e.g. 1h")] = None,
        start: From = None,
        end: To = None,
        limit: Annotated[int, Query(ge=1, le=MAX_CANDLES)] = DEFAULT_CANDLES,
    ) -> Ohlcv:
        """Candles of a market, oldest first: the latest `limit` of the window."""
        low, high = moment(start, "from"), moment(end, "to", end_of_day=True)
        if low is not None and high is not None and high < low:
            raise invalid(f"to={end} comes before from={start}: swap them")
        try:
            return ohlcv(
                desk,
                market=market,
                symbol=symbol,
                timeframe=timeframe,
                start=low,
                end=high,
                limit=limit,
            )
        except UserError as error:
            raise invalid(str(error)) from None

    return router


def _warm(reader: DecisionReader) -> None:
    """Read the index once; a store that cannot be read is said by the requests that need it."""
    try:
        reader.warm()
    except Exception as error:  # the server still starts; each decisions request reports it
        logger.warning("the decision index was not built at start: %s", one_line_reason(error))


def _orders_query(
    desk: ChatDesk, account: str | None, symbol: str | None, limit: int
) -> OrdersQuery:
    return OrdersQuery(account=account_of(desk, account), symbol=symbol, limit=limit)
