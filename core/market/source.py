"""The one way to open a market: a spec string plus an optional symbol, timeframe and window.

Every entry point (CLI, HTTP, scheduler, evaluation harness) opens markets through
`open_market`, so a spec means the same thing everywhere and every source is windowed and
validated the same way. Specs:

- `synthetic` or `synthetic:SEED`: the seeded synthetic market (default seed 7, SYN/USDT, 1h,
  2000 bars), always labelled synthetic;
- a path to a `.csv.gz`/`.csv` candle file, whose name (`BTC_USDT-1h.csv.gz`) gives the market;
- a path to a recording folder: one of its files, chosen by symbol and timeframe;
- `exchange:NAME`: a live exchange through ccxt (NAME is a ccxt id such as `binance`).

Window: `start` and `end` (both inclusive, naive datetimes mean UTC) filter candles by open
time; then `bars` keeps the first N candles of the window. An exchange without a `start` gives
the last N closed candles up to `end` (or now), as a live run needs the most recent history.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
from pydantic import BaseModel

from core.errors import DataError, UserError
from core.market.exchange import fetch_exchange_ohlcv, instrument_rules, make_exchange
from core.market.recorded import SUFFIXES, infer_market, load_recorded, resolve_recording
from core.market.series import CandleSeries
from core.market.synthetic import DEFAULT_START_MS, simulate_market
from core.types import MarketInfo, timeframe_seconds

ACCEPTED_SPECS: Final = (
    "use synthetic, synthetic:SEED, a .csv.gz or .csv candle file, a recording folder,"
    " or exchange:NAME (a ccxt id such as binance)"
)
DEFAULT_SEED: Final = 7
SYNTHETIC_SYMBOL: Final = "SYN/USDT"
DEFAULT_TIMEFRAME: Final = "1h"
SYNTHETIC_BARS: Final = 2000
EXCHANGE_BARS: Final = 500
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SYMBOL_RE: Final = re.compile(r"^[A-Z0-9][A-Z0-9.]*/[A-Z0-9][A-Z0-9.]*(:[A-Z0-9.\-]+)?$")


class MarketRequest(BaseModel, frozen=True):
    """What market to open and which part of it (see the module docstring for the specs)."""

    spec: str
    symbol: str | None = None
    timeframe: str | None = None
    bars: int | None = None
    start: datetime | None = None
    end: datetime | None = None


def open_market(
    request: MarketRequest, *, exchange_factory: Callable[[str], Any] | None = None
) -> tuple[MarketInfo, CandleSeries]:
    """Open the market a request names and return its identity and its windowed candles.

    `exchange_factory` builds the ccxt exchange for `exchange:NAME` (tests inject one that
    replays recorded HTTP responses); by default it is `make_exchange`.
    """
    if request.bars is not None and request.bars <= 0:
        raise UserError(f"bars must be at least 1, got {request.bars}")
    symbol = None if request.symbol is None else normalize_symbol(request.symbol)
    timeframe = request.timeframe
    if timeframe is not None:
        timeframe_seconds(timeframe)
    start_ms, end_ms = _to_ms(request.start), _to_ms(request.end)
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise UserError(
            f"the window starts ({_when(start_ms)}) after it ends ({_when(end_ms)}):"
            " swap --from and --to"
        )
    spec = request.spec.strip()
    window = _Window(start_ms, end_ms, request.bars)
    if spec == "synthetic" or spec.startswith("synthetic:"):
        return _open_synthetic(spec, symbol, timeframe, window)
    if spec.startswith("exchange:"):
        return _open_exchange(spec, symbol, timeframe, window, exchange_factory or make_exchange)
    if not spec:
        raise UserError(f"no market given: {ACCEPTED_SPECS}")
    return _open_recorded(spec, symbol, timeframe, window)


def normalize_symbol(symbol: str) -> str:
    """`btc/usdt` -> `BTC/USDT`; anything that is not BASE/QUOTE is refused with a hint."""
    cleaned = symbol.strip().upper()
    if _SYMBOL_RE.match(cleaned):
        return cleaned
    guess = re.sub(r"^([A-Z0-9]+)[_\-]([A-Z0-9]+)$", r"\1/\2", cleaned)
    hint = f" (did you mean {guess}?)" if _SYMBOL_RE.match(guess) else ""
    raise UserError(
        f"symbol {symbol!r} does not look like BASE/QUOTE{hint}: write it like BTC/USDT"
    )


class _Window:
    """Start/end open times (inclusive, ms) and a bar count, applied the same way to all."""

    def __init__(self, start_ms: int | None, end_ms: int | None, bars: int | None) -> None:
        self.start_ms, self.end_ms, self.bars = start_ms, end_ms, bars

    def describe(self) -> str:
        if self.start_ms is not None and self.end_ms is not None:
            return f"between {_when(self.start_ms)} and {_when(self.end_ms)}"
        if self.start_ms is not None:
            return f"from {_when(self.start_ms)} on"
        if self.end_ms is not None:
            return f"up to {_when(self.end_ms)}"
        return "at all"

    def apply(self, series: CandleSeries) -> CandleSeries:
        ts = series.ts
        lo = 0 if self.start_ms is None else int(np.searchsorted(ts, self.start_ms, "left"))
        hi = len(ts) if self.end_ms is None else int(np.searchsorted(ts, self.end_ms, "right"))
        if hi <= lo:
            covers = (
                f"the data covers {_when(int(ts[0]), minutes=True)} to"
                f" {_when(int(ts[-1]), minutes=True)} UTC"
                if len(ts)
                else "the data holds no candles"
            )
            raise DataError(f"no candles {self.describe()}: {covers}")
        if self.bars is not None:
            hi = min(hi, lo + self.bars)
        return series if (lo, hi) == (0, len(ts)) else series.window(lo, hi)


def _open_synthetic(
    spec: str, symbol: str | None, timeframe: str | None, window: _Window
) -> tuple[MarketInfo, CandleSeries]:
    seed_text = spec.partition(":")[2].strip() if ":" in spec else str(DEFAULT_SEED)
    if not re.fullmatch(r"\d+", seed_text):
        raise UserError(f"synthetic seed {seed_text!r} is not a whole number: use e.g. synthetic:7")
    timeframe = timeframe or DEFAULT_TIMEFRAME
    period_ms = timeframe_seconds(timeframe) * 1000
    if window.start_ms is not None:
        first = -(-window.start_ms // period_ms) * period_ms  # first candle open at/after start
    elif window.end_ms is not None:
        first = (window.end_ms // period_ms - (window.bars or SYNTHETIC_BARS) + 1) * period_ms
    else:
        first = DEFAULT_START_MS
    bars = window.bars
    if bars is None:
        bars = SYNTHETIC_BARS
        if window.start_ms is not None and window.end_ms is not None:
            bars = (window.end_ms - first) // period_ms + 1
    if window.end_ms is not None:
        bars = min(bars, (window.end_ms - first) // period_ms + 1)
    if bars <= 0:
        raise DataError(f"no {timeframe} candle opens {window.describe()}: widen the window")
    series = simulate_market(int(seed_text), timeframe=timeframe, bars=bars, start_ms=first).series
    info = MarketInfo(
        source=spec, symbol=symbol or SYNTHETIC_SYMBOL, timeframe=timeframe, synthetic=True
    )
    return info, series


def _open_recorded(
    spec: str, symbol: str | None, timeframe: str | None, window: _Window
) -> tuple[MarketInfo, CandleSeries]:
    path = Path(spec).expanduser()
    if path.is_dir():
        path = resolve_recording(path, symbol, timeframe)
    elif not path.is_file():
        raise UserError(f"market {spec!r} is not an existing file or folder: {ACCEPTED_SPECS}")
    elif not path.name.lower().endswith(SUFFIXES):
        raise UserError(f"{spec} is not a .csv.gz or .csv candle file: {ACCEPTED_SPECS}")
    named = infer_market(path)
    if named is not None:
        for flag, given, actual in (
            ("--symbol", symbol, named[0]),
            ("--timeframe", timeframe, named[1]),
        ):
            if given is not None and given != actual:
                raise UserError(
                    f"{path} holds {named[0]} {named[1]} (by its name), not {given}:"
                    f" drop {flag} or open the {given} file"
                )
        symbol, timeframe = named
    elif symbol is None or timeframe is None:
        raise UserError(
            f"cannot tell the market of {path} from its name (expected like BTC_USDT-1h.csv.gz):"
            " give --symbol and --timeframe"
        )
    series = window.apply(load_recorded(path, timeframe=timeframe))
    return MarketInfo(source=str(path), symbol=symbol, timeframe=timeframe, synthetic=False), series


def _open_exchange(
    spec: str,
    symbol: str | None,
    timeframe: str | None,
    window: _Window,
    factory: Callable[[str], Any],
) -> tuple[MarketInfo, CandleSeries]:
    from core.market.live_sources import parse_exchange_names

    name = parse_exchange_names(spec)[0]  # the first serves; the others are live backups
    if symbol is None:
        raise UserError(f"{spec} needs --symbol: which market to trade, e.g. BTC/USDT")
    timeframe = timeframe or DEFAULT_TIMEFRAME
    bars = window.bars
    if bars is None and window.start_ms is None:
        bars = EXCHANGE_BARS
    exchange = factory(name)
    series = fetch_exchange_ohlcv(
        exchange,
        symbol,
        timeframe,
        bars=bars,
        since_ms=window.start_ms,
        until_ms=window.end_ms,
    )
    if not len(series):
        raise DataError(
            f"{name} returned no closed {symbol} {timeframe} candles {window.describe()}:"
            " check the dates (exchanges keep limited history for small timeframes)"
        )
    rules = instrument_rules(exchange.market(symbol), exchange.precisionMode)
    info = MarketInfo(source=spec, symbol=symbol, timeframe=timeframe, synthetic=False, rules=rules)
    return info, series


def _to_ms(moment: datetime | None) -> int | None:
    """Naive datetimes are UTC: candle times are UTC everywhere in the project."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return (aware - _EPOCH) // timedelta(milliseconds=1)


def _when(ms: int, *, minutes: bool = False) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if not minutes and (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M")
