"""The toolbox's market tools, offered to the chat with a market selector.

The toolbox's market tools (`tools.tool_catalog.TOOLBOX`, scope "market") read a market their
caller opened. In the chat the model names it: each tool's input here is the toolbox's own
input model extended with a `MarketSelector` (symbol, timeframe, the latest days or a start
and end date, the market source), and running it opens that market and hands it to the
toolbox's own tool. Nothing is copied: a change to a toolbox tool is a change here.

The market source is the desk's (`ChatDesk.market_spec`) unless the model names a synthetic
one; a model cannot point the desk at a file or an exchange of its choosing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from core.dates import parse_date
from core.errors import UserError
from core.market.history import MarketHistory
from core.market.series import CandleSeries
from core.market.source import SYNTHETIC_BARS, MarketRequest, open_market
from core.types import MarketInfo, timeframe_seconds
from graphs.chat.desk_base import ChatDesk, one_line_reason
from tools.market_toolset import MAX_CANDLES
from tools.portfolio import PortfolioCaps
from tools.registry import MAX_DESCRIPTION, MarketData, Tool, ToolContext
from tools.tool_catalog import TOOLBOX

DEFAULT_DAYS = 90
"""The window a market tool reads when neither days nor start/end are given."""
MAX_DAYS = 3650
DAY_MS = 86_400_000
SELECTOR_NOTE = " Name the market: symbol, timeframe, days (or start/end)."
_SYNTHETIC = re.compile(r"^synthetic(:\d{1,9})?$")
_FLAG = re.compile(r"--(from|to|symbol|timeframe|bars)\b")
_FLAG_NAMES = {"from": "start", "to": "end", "symbol": "symbol", "timeframe": "timeframe"}


class MarketSelector(BaseModel):
    """Which market and which window a tool reads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str | None = Field(
        default=None,
        max_length=40,
        description="the pair, like ETH/USDT (default: the market's only one)",
    )
    timeframe: str | None = Field(
        default=None, max_length=8, description="candle length like 1h, 4h, 1d"
    )
    days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DAYS,
        description=f"the latest N days of candles (default {DEFAULT_DAYS} without start/end)",
    )
    start: str | None = Field(
        default=None, max_length=20, description="first day, YYYY-MM-DD (UTC), instead of days"
    )
    end: str | None = Field(
        default=None, max_length=20, description="last day, YYYY-MM-DD (UTC), instead of days"
    )
    market: str | None = Field(
        default=None,
        max_length=20,
        description="synthetic:SEED for the labelled synthetic market; default: the desk's",
    )

    @field_validator("market")
    @classmethod
    def _synthetic_only(cls, market: str | None) -> str | None:
        if market is not None and not _SYNTHETIC.match(market.strip()):
            raise ValueError(
                "market: only synthetic or synthetic:SEED may be named; leave it out for the "
                "desk's own market"
            )
        return None if market is None else market.strip()


SELECTOR_FIELDS = frozenset(MarketSelector.model_fields)


@dataclasses.dataclass(frozen=True)
class OpenedMarket:
    info: MarketInfo
    candles: CandleSeries


def open_selected(desk: ChatDesk, selector: MarketSelector) -> OpenedMarket:
    """The market and window `selector` names, or a one-line ValueError saying what to fix."""
    if selector.days is not None and (selector.start or selector.end):
        raise ValueError("give days or start/end, not both")
    spec = selector.market or desk.market_spec
    days = selector.days
    if days is None and not (selector.start or selector.end):
        days = DEFAULT_DAYS
    try:
        start = parse_date(selector.start, "start")
        end = parse_date(selector.end, "end", end_of_day=True)
        return _open(desk, spec, selector.symbol, selector.timeframe, days, start, end)
    except UserError as error:
        raise ValueError(_FLAG.sub(lambda m: _FLAG_NAMES.get(m[1], m[1]), str(error))) from None


def _open(
    desk: ChatDesk,
    spec: str,
    symbol: str | None,
    timeframe: str | None,
    days: int | None,
    start: datetime | None,
    end: datetime | None,
) -> OpenedMarket:
    synthetic = spec == "synthetic" or spec.startswith("synthetic:")
    live = spec.startswith("exchange:")
    request = MarketRequest(spec=spec, symbol=symbol, timeframe=timeframe, start=start, end=end)
    if days is not None and synthetic:
        period = timeframe_seconds(timeframe or "1h")
        bars = min(MAX_CANDLES, max(SYNTHETIC_BARS, days * DAY_MS // (period * 1000)))
        request = request.model_copy(update={"bars": bars})
    elif days is not None and live:
        since = datetime.fromtimestamp((desk.now_ms() - days * DAY_MS) / 1000, UTC)
        request = request.model_copy(update={"start": since.replace(tzinfo=None)})
    info, series = open_market(request, exchange_factory=exchange_factory(desk))
    if days is not None and not live:
        series = latest_days(series, info, days)
    return OpenedMarket(info, series)


def exchange_factory(desk: ChatDesk) -> Callable[[str], Any]:
    """The settings' exchange endpoints (`exchange_urls`), as `tradegraph run` uses them."""

    def make(name: str) -> Any:
        from core.market.exchange import make_exchange

        return make_exchange(name, desk.settings.exchange_urls.get(name))

    return make


def latest_days(series: CandleSeries, info: MarketInfo, days: int) -> CandleSeries:
    """The candles of the last `days` days up to the series' last candle."""
    if len(series) == 0:
        return series
    first_ms = int(series.ts[-1]) + info.period_ms - days * DAY_MS
    lo = int(np.searchsorted(series.ts, first_ms, "left"))
    return series if lo == 0 else series.window(lo, len(series))


def current_market(
    desk: ChatDesk, symbol: str | None, timeframe: str | None = None
) -> OpenedMarket:
    """The desk's market for `symbol` as it stands: a recording's or the synthetic market's
    candles up to their last, an exchange's latest closed ones (a one-line ValueError when it
    cannot be opened)."""
    try:
        info, series = open_market(
            MarketRequest(spec=desk.market_spec, symbol=symbol, timeframe=timeframe),
            exchange_factory=exchange_factory(desk),
        )
    except UserError as error:
        raise ValueError(_FLAG.sub(lambda m: _FLAG_NAMES.get(m[1], m[1]), str(error))) from None
    if len(series) == 0:
        raise ValueError(f"{info.symbol} {info.timeframe}: the market has no candles")
    return OpenedMarket(info, series)


def market_now(desk: ChatDesk, opened: OpenedMarket) -> int:
    """Now, for this market: the wall clock for an exchange; for a played market (a
    recording, the synthetic market) the close of its last candle, where its time stops."""
    if opened.info.source.startswith("exchange:"):
        return desk.now_ms()
    return int(opened.candles.ts[-1]) + opened.info.period_ms


def history_of(opened: OpenedMarket, last: int) -> MarketHistory:
    """The market's latest `last` closed candles as a decision cycle's history."""
    series = opened.candles
    first = max(0, len(series) - last)
    history = MarketHistory(opened.info, capacity=max(1, len(series) - first))
    for i in range(first, len(series)):
        history.append(series.candle(i))
    return history


def symbol_loader(desk: ChatDesk, selector: MarketSelector, timeframe: str) -> Any:
    """Other symbols of the same market, timeframe and window (for pairs and portfolios)."""

    def load(symbol: str) -> CandleSeries:
        other = selector.model_copy(update={"symbol": symbol, "timeframe": timeframe})
        return open_selected(desk, other).candles

    return load


def _wrapped(desk: ChatDesk, tool: Tool[Any, Any]) -> Tool[Any, Any]:
    """`tool` with the selector added to its input, opening the named market to run it."""
    overlap = SELECTOR_FIELDS & set(tool.input_model.model_fields)
    if overlap:
        raise ValueError(f"{tool.name}'s input already has {sorted(overlap)}")
    if tool.input_model.model_fields == {}:
        return dataclasses.replace(tool, scope="chat")
    query_model = create_model(
        f"Chat{tool.input_model.__name__}",
        __base__=(tool.input_model, MarketSelector),
        __doc__=f"{(tool.input_model.__doc__ or '').strip()} The market is named by the selector.",
    )
    caps = PortfolioCaps.from_limits(desk.settings.risk)

    def run(query: Any, context: ToolContext) -> Any:
        selector = MarketSelector.model_validate(
            {name: getattr(query, name) for name in SELECTOR_FIELDS}
        )
        if selector.symbol is None and getattr(query, "symbols", None):
            selector = selector.model_copy(update={"symbol": query.symbols[0]})
        try:
            opened = open_selected(desk, selector)
        except ValueError:
            raise
        except Exception as error:  # an unreadable file, a lost connection: one line
            raise ValueError(f"cannot open the market: {one_line_reason(error)}") from None
        market = MarketData(opened.info, opened.candles)
        loader = symbol_loader(desk, selector, opened.info.timeframe)
        return tool.run(query, ToolContext(market=market, markets=loader, caps=caps))

    description = tool.description
    if len(description) + len(SELECTOR_NOTE) <= MAX_DESCRIPTION:
        description += SELECTOR_NOTE
    return Tool(
        name=tool.name,
        description=description,
        input_model=query_model,
        output_model=tool.output_model,
        run=run,
        scope="chat",
        keep_none=tool.keep_none,
    )


def market_tools(desk: ChatDesk) -> tuple[Tool[Any, Any], ...]:
    """Every market tool of the toolbox, each reading the market its input names."""
    return tuple(_wrapped(desk, TOOLBOX.get(name)) for name in TOOLBOX.names("market"))
