"""The live exchange feed: closed candles as they close, streamed, polled, or from a backup.

A candle is yielded once it is closed: when the stream has moved on to a newer candle, or when
the clock has passed its close and REST confirms it exists (the stream's last word on a candle
is not trusted once the clock alone says it closed). The forming candle, a duplicate or an older
candle is never yielded, whichever exchange or transport delivers it, because the feed keeps one
cursor (the open time of the next candle due) and only moves it forward.

Streaming is preferred (ccxt.pro `watch_ohlcv`); when the exchange cannot stream, or the stream
drops or stalls, REST polling serves a little after each close, and streaming is retried later.
When the serving exchange fails (`max_failures` failed calls in a row, or no closed candle two
periods after one was due) the next exchange in the list serves, from the cursor on, so the gap
is filled by REST from the new exchange. The order wraps around: after the last exchange comes
the first again, which has had time to recover. A candle no exchange has (it has newer ones) is
skipped with a "gap" event rather than invented.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from core.errors import UserError
from core.market.candle_stream import (
    CandleStream,
    Row,
    StreamEndedError,
    complete_row,
    describe,
    row_candle,
)
from core.market.exchange import check_market, fetch_exchange_ohlcv, instrument_rules
from core.market.live_sources import ExchangeSource, FeedEvent, exchange_sources
from core.market.series import CandleSeries
from core.types import Candle, MarketInfo, timeframe_seconds

Close = tuple[int, dict[str, Candle]]
_REST_LIMIT: Final = 1000
_NEVER: Final = -(2**62)


class ExchangeFeed:
    """A `MarketFeed` (see graphs/feeds.py) over live exchanges, for symbols at one timeframe."""

    def __init__(
        self,
        sources: Sequence[ExchangeSource],
        symbols: Sequence[str],
        timeframe: str,
        *,
        warmup_bars: int = 0,
        now_ms: Callable[[], int] | None = None,
        sleep: Callable[[float], None] | None = None,
        on_event: Callable[[FeedEvent], None] | None = None,
        stop: threading.Event | Callable[[], bool] | None = None,
        max_closes: int | None = None,
        max_failures: int = 3,
        poll_delay_s: float | None = None,
        poll_every_s: float | None = None,
        grace_s: float = 30.0,
        tick_s: float | None = None,
        stream_retry_s: float = 600.0,
    ) -> None:
        if not sources:
            raise UserError("a live feed needs at least one exchange, e.g. exchange:binance")
        if not symbols:
            raise UserError("a live feed needs at least one symbol, e.g. --symbol BTC/USDT")
        if warmup_bars < 0:
            raise UserError(f"warm-up bars must be 0 or more, got {warmup_bars}")
        self._sources = tuple(sources)
        self._symbols = tuple(dict.fromkeys(symbols))
        self._timeframe = timeframe
        self._period = timeframe_seconds(timeframe) * 1000
        self._warmup_bars = warmup_bars
        self._now = now_ms or (lambda: int(time.time() * 1000))
        self._stop = stop
        self._sleep = sleep or self._wait
        self._emit = on_event or (lambda event: None)
        self._max_closes = max_closes
        self._max_failures = max(1, max_failures)
        # By default a poll waits 2 s after a close and repeats every 5 s, the clock ticks every
        # 0.5 s: less for short candles (Binance's 1s), so a close is never served late.
        period_s = self._period / 1000
        self._poll_delay = int(
            1000 * (poll_delay_s if poll_delay_s is not None else min(2.0, period_s / 4))
        )
        self._poll_every = int(
            1000 * (poll_every_s if poll_every_s is not None else min(5.0, period_s))
        )
        self._grace = int(grace_s * 1000)
        self._tick = tick_s if tick_s is not None else min(0.5, period_s / 10)
        self._stream_retry = int(stream_retry_s * 1000)
        self._exchanges: dict[int, Any] = {}
        self._index = 0
        self._markets: tuple[MarketInfo, ...] | None = None
        self._cursor: int | None = None
        self._stream: CandleStream | None = None
        self._stream_seen = _NEVER
        self._stream_retry_at = _NEVER
        self._resuming = False
        self._streamed: dict[str, dict[int, Row]] = {s: {} for s in self._symbols}
        self._polled: dict[str, dict[int, Row]] = {s: {} for s in self._symbols}
        self._failures = 0
        self._last_poll = _NEVER
        self._serving_since = _NEVER

    # -- the MarketFeed protocol ---------------------------------------------------------------

    @property
    def markets(self) -> tuple[MarketInfo, ...]:
        self._open()
        assert self._markets is not None
        return self._markets

    @property
    def expected_cycles(self) -> int | None:
        """Candles over all symbols when `max_closes` bounds the run (fewer after a gap)."""
        return None if self._max_closes is None else self._max_closes * len(self._symbols)

    @property
    def serving(self) -> str:
        """The name of the exchange serving now."""
        return self._sources[self._index].name

    def warmup(self) -> dict[str, CandleSeries]:
        """The last `warmup_bars` closed candles of each symbol, by REST, so a node can fill its
        histories before the first live close; `closes()` then starts right after them."""
        self._open()
        if self._warmup_bars == 0:
            return {}
        newest_closed = self._now() // self._period * self._period - self._period
        exchange = self._exchanges[self._index]
        history = {
            symbol: fetch_exchange_ohlcv(
                exchange, symbol, self._timeframe, bars=self._warmup_bars, until_ms=newest_closed
            )
            for symbol in self._symbols
        }
        ends = [int(series.ts[-1]) for series in history.values() if len(series)]
        if ends:
            self._cursor = max(ends) + self._period
        return history

    def history(self, since_ms: int, until_ms: int) -> dict[str, CandleSeries]:
        """Closed candles opened from `since_ms` to `until_ms`, by REST from the exchange
        serving now: what a late or restarted agent adds to its history without deciding."""
        self._open()
        exchange = self._exchanges[self._index]
        return {
            symbol: fetch_exchange_ohlcv(
                exchange, symbol, self._timeframe, bars=None, since_ms=since_ms, until_ms=until_ms
            )
            for symbol in self._symbols
        }

    def start_after(self, open_ms: int) -> None:
        """`closes()` begins with the candle after the one that opened at `open_ms` (the last
        of a warm-up the caller fetched itself)."""
        self._cursor = open_ms + self._period

    def closes(self) -> Iterator[Close]:
        self._open()
        now = self._now()
        if self._cursor is None:
            self._cursor = now // self._period * self._period  # the candle forming now
        self._serving_since = now
        self._start_stream(now)
        yielded = 0
        try:
            while self._max_closes is None or yielded < self._max_closes:
                if self._stopped():
                    return
                close = self._step()
                if close is None:
                    self._sleep(self._tick)
                    continue
                yield close
                yielded += 1
        finally:
            self._stop_stream()

    def close(self) -> None:
        """Stops the stream thread (closes() does so itself when it ends or is closed)."""
        self._stop_stream()

    # -- opening -------------------------------------------------------------------------------

    def _open(self) -> None:
        """Checks every exchange serves every symbol, once: a missing market is one line now,
        an unreachable backup only an event (it may be back by the time it is needed)."""
        if self._markets is not None:
            return
        reachable: list[int] = []
        for i, source in enumerate(self._sources):
            try:
                self._exchanges[i] = self._prepare(i)
            except UserError:
                raise
            except _exchange_errors() as exc:  # unreachable now: tried again at failover
                self._event("source_unavailable", f"{source.name} unreachable ({describe(exc)})")
            else:
                reachable.append(i)
        if not reachable:
            names = ", ".join(s.name for s in self._sources)
            raise UserError(f"could not reach {names}: check the network and retry")
        self._index = reachable[0]
        exchange = self._exchanges[self._index]
        spec = "exchange:" + ",".join(s.name for s in self._sources)
        self._markets = tuple(
            MarketInfo(
                source=spec,
                symbol=symbol,
                timeframe=self._timeframe,
                synthetic=False,
                rules=instrument_rules(exchange.market(symbol), exchange.precisionMode),
            )
            for symbol in self._symbols
        )

    def _prepare(self, i: int) -> Any:
        """A loaded exchange for source `i`; ccxt errors pass through, a missing symbol is a
        UserError naming the exchange."""
        exchange = self._exchanges.get(i) or self._sources[i].rest()
        exchange.load_markets()
        for symbol in self._symbols:
            check_market(exchange, symbol, self._timeframe)
        return exchange

    # -- one step of the loop ------------------------------------------------------------------

    def _step(self) -> Close | None:
        """The next close if it is ready now, else None (after polling or failing over)."""
        assert self._cursor is not None
        now, due = self._now(), self._cursor
        self._read_stream(now)
        found = {s: row for s in self._symbols if (row := self._closed_row(s, due)) is not None}
        if len(found) == len(self._symbols):
            return self._advance(due, found)
        close_ms = due + self._period
        if now < close_ms + self._poll_delay:
            return None  # not closed by the clock yet; the stream may still close it sooner
        if now - self._last_poll >= self._poll_every:
            self._last_poll = now
            missing = [s for s in self._symbols if s not in found]
            try:
                for symbol in missing:
                    self._poll(symbol, due, now)
            except _exchange_errors() as exc:  # counts towards failover
                self._failed(describe(exc), now, force=False)
                return None
            self._failures = 0
            found |= {s: row for s in missing if (row := self._polled[s].get(due)) is not None}
            gaps = [s for s in missing if s not in found and max(self._polled[s], default=0) > due]
            if len(found) + len(gaps) == len(self._symbols):
                if gaps:
                    self._event("gap", f"{self.serving} has no {', '.join(gaps)} candle at"
                                f" {_hhmm(due)}: skipped")  # fmt: skip
                if found:
                    return self._advance(due, found)
                self._cursor = due + self._period
                return None
        if now >= max(close_ms, self._serving_since) + 2 * self._period + self._grace:
            self._failed(f"no closed candle since {_hhmm(due)}", now, force=True)
        return None

    def _closed_row(self, symbol: str, due: int) -> Row | None:
        """The candle at `due` if known closed: by REST, or by the stream having moved on."""
        polled = self._polled[symbol].get(due)
        if polled is not None:
            return polled
        streamed = self._streamed[symbol]
        row = streamed.get(due)
        if row is not None and max(streamed) > due:
            return row
        return None

    def _advance(self, due: int, rows: dict[str, Row]) -> Close:
        self._cursor = due + self._period
        self._serving_since = self._now()
        for table in (*self._streamed.values(), *self._polled.values()):
            for ts in [ts for ts in table if ts < self._cursor]:
                del table[ts]
        candles = {s: row_candle(rows[s]) for s in self._symbols if s in rows}
        return due + self._period, candles

    def _poll(self, symbol: str, since: int, now: int) -> None:
        """Closed candles from `since` on, by REST, into the polled table."""
        exchange = self._exchanges[self._index]
        limit = min(_REST_LIMIT, max(1, (now - since) // self._period + 1))
        rows = exchange.fetch_ohlcv(symbol, self._timeframe, since=since, limit=limit) or []
        for row in rows:
            ts = int(row[0])
            if ts >= since and ts + self._period <= now and complete_row(row):
                self._polled[symbol][ts] = list(row)

    # -- streaming -----------------------------------------------------------------------------

    def _start_stream(self, now: int) -> None:
        factory = self._sources[self._index].stream
        if factory is None or self._stream is not None:
            return
        self._stream = CandleStream(factory, self._symbols, self._timeframe)
        self._stream.start()
        self._stream_seen = now

    def _stop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        for table in self._streamed.values():
            table.clear()

    def _read_stream(self, now: int) -> None:
        stream = self._stream
        if stream is None:
            if self._stream_retry_at != _NEVER and now >= self._stream_retry_at:
                self._stream_retry_at = _NEVER
                self._resuming = True
                self._start_stream(now)
            return
        try:
            updates = stream.drain()
        except StreamEndedError as failed:
            self._fall_back(failed.reason, now)
            return
        for update in updates:
            if complete_row(update.row) and int(update.row[0]) >= (self._cursor or 0):
                self._streamed[update.symbol][int(update.row[0])] = update.row
        if updates:
            self._stream_seen = now
            if self._resuming:
                self._resuming = False
                self._event("stream_resumed", f"{self.serving} streams candles again")
        elif now - self._stream_seen > self._period + self._grace:
            self._fall_back(f"no update for {(now - self._stream_seen) // 1000} s", now)

    def _fall_back(self, reason: str, now: int) -> None:
        self._stop_stream()
        self._resuming = False
        self._stream_retry_at = now + self._stream_retry
        self._event(
            "stream_fallback", f"{self.serving} stream ended ({reason}): polling REST after closes"
        )

    # -- failover ------------------------------------------------------------------------------

    def _failed(self, reason: str, now: int, *, force: bool) -> None:
        self._failures += 1
        if not force and self._failures < self._max_failures:
            return
        old = self.serving
        self._stop_stream()
        for table in self._polled.values():
            table.clear()
        self._failures, self._last_poll, self._serving_since = 0, _NEVER, now
        self._stream_retry_at = _NEVER
        count = len(self._sources)
        unusable: tuple[type[BaseException], ...] = (UserError, *_exchange_errors())
        for step in range(1, count + 1):
            candidate = (self._index + step) % count
            try:
                self._exchanges[candidate] = self._prepare(candidate)
            except unusable as exc:  # a missing symbol or unreachable: try the next
                name = self._sources[candidate].name
                self._event("source_unavailable", f"{name} unusable ({describe(exc)})")
                continue
            self._index = candidate
            break
        else:
            self._index = (self._index + 1) % count
        assert self._cursor is not None
        symbols = ", ".join(self._symbols)
        self._event(
            "feed_switched",
            f"{old} failed ({reason}): {self.serving} serves {symbols} from {_hhmm(self._cursor)}",
        )
        self._start_stream(now)

    # -- helpers -------------------------------------------------------------------------------

    def _event(self, kind: str, detail: str) -> None:
        self._emit(FeedEvent(ts=self._now(), kind=kind, detail=detail))

    def _stopped(self) -> bool:
        stop = self._stop
        if stop is None:
            return False
        return stop.is_set() if isinstance(stop, threading.Event) else bool(stop())

    def _wait(self, seconds: float) -> None:
        """The default sleep: wakes at once when a stop Event is set."""
        if isinstance(self._stop, threading.Event):
            self._stop.wait(seconds)
        else:
            time.sleep(seconds)


def _exchange_errors() -> tuple[type[BaseException], ...]:
    """What an exchange call raises when the exchange, not this code, is at fault."""
    import ccxt

    return (ccxt.BaseError, OSError)


def open_exchange_feed(
    spec: str, symbols: Sequence[str], timeframe: str, **options: Any
) -> ExchangeFeed:
    """The feed an `exchange:NAME[,NAME...]` spec names (options as for ExchangeFeed)."""
    return ExchangeFeed(exchange_sources(spec), symbols, timeframe, **options)


def _hhmm(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M")
