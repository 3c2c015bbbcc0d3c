"""Recorded markets: gzip (or plain) CSV candle files, one per pair and timeframe.

The layout is the one of `../shared/markets` (and of ccxt `fetch_ohlcv`, as freqtrade names its
files): header `timestamp,open,high,low,close,volume`, `timestamp` the candle's open time in ms
UTC, file names like `BTC_USDT-1h.csv.gz`. Loading is strict because every later step (features,
backtests, replay without look-ahead) trusts the series: each problem is reported as one line
naming the file and the 1-based data row. Gaps and zero-volume candles are real and legal; the
decision cycle flags them instead.

Parsing uses numpy's C `loadtxt` (about 20 ms for 65k rows; pandas would cost a second just
to import). When it fails, a slow line-by-line pass finds the exact row and says what is wrong.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from core.errors import DataError, UserError
from core.market.series import CandleSeries, FloatArray, IntArray
from core.types import timeframe_seconds

HEADER: Final = ("timestamp", "open", "high", "low", "close", "volume")
HEADER_LINE: Final = ",".join(HEADER)
SUFFIXES: Final = (".csv.gz", ".csv")
_NAME_RE: Final = re.compile(r"^([A-Za-z0-9]+)_([A-Za-z0-9]+)-(\d+[mhdw])\.csv(?:\.gz)?$")
BoolArray = npt.NDArray[np.bool_]
_GZIP_MAGIC: Final = b"\x1f\x8b"
_MIN_MS: Final = 100_000_000_000  # 1973-03-03 in ms: smaller values are seconds
MAX_MS: Final = 10_000_000_000_000  # 2286-11-20 in ms: larger values are micro- or nanoseconds
MAX_DECOMPRESSED_BYTES: Final = 256 * 1024 * 1024
"""A candle file is at most this big once unzipped (5 years of 1m candles take ~180 MB): a
gzip bomb stops here instead of filling the memory."""


def load_recorded(path: str | Path, *, timeframe: str | None = None) -> CandleSeries:
    """Load and validate one candle file; with `timeframe`, also check candles are that far apart.

    Raises DataError (one line: file, row, problem) for anything the series could not trust.
    """
    path = Path(path)
    raw = _read_bytes(path)
    header, _, body = raw.partition(b"\n")
    _check_header(path, header)
    body = body.rstrip()
    if not body:
        raise DataError(f"{path}: has a header but no candles: record some data into it")
    table = _parse(path, body)
    check_values(path, table)
    ts = table[:, 0].astype(np.int64)
    if timeframe is not None:
        _check_spacing(path, ts, timeframe)
    return CandleSeries(
        ts=ts,
        open=np.ascontiguousarray(table[:, 1]),
        high=np.ascontiguousarray(table[:, 2]),
        low=np.ascontiguousarray(table[:, 3]),
        close=np.ascontiguousarray(table[:, 4]),
        volume=np.ascontiguousarray(table[:, 5]),
    )


def market_file_name(symbol: str, timeframe: str) -> str:
    """The file name a recording uses for a market: `BTC/USDT` + `1h` -> `BTC_USDT-1h.csv.gz`."""
    return f"{symbol.replace('/', '_')}-{timeframe}.csv.gz"


def infer_market(path: str | Path) -> tuple[str, str] | None:
    """Symbol and timeframe from a file name like `ETH_USDT-5m.csv.gz`, or None if it is not one."""
    match = _NAME_RE.match(Path(path).name)
    if match is None:
        return None
    base, quote, timeframe = match.groups()
    try:
        timeframe_seconds(timeframe)
    except UserError:
        return None
    return f"{base.upper()}/{quote.upper()}", timeframe


def recording_markets(folder: str | Path) -> dict[tuple[str, str], Path]:
    """Every market file in a recording folder, keyed by (symbol, timeframe), in a stable order."""
    folder = Path(folder)
    found: dict[tuple[str, str], Path] = {}
    for entry in sorted(folder.iterdir()):
        market = infer_market(entry) if entry.is_file() else None
        if market is not None and (market not in found or entry.name.endswith(".gz")):
            found[market] = entry
    return dict(sorted(found.items(), key=lambda kv: (kv[0][0], timeframe_seconds(kv[0][1]))))


def resolve_recording(
    folder: str | Path, symbol: str | None = None, timeframe: str | None = None
) -> Path:
    """The file of a recording folder for a symbol and timeframe (either may be omitted when
    the folder leaves only one choice); errors list what the folder does offer."""
    folder = Path(folder)
    markets = recording_markets(folder)
    if not markets:
        raise DataError(
            f"{folder} holds no market files: expected files named like BTC_USDT-1h.csv.gz"
        )
    matches = [
        market
        for market in markets
        if (symbol is None or market[0] == symbol) and (timeframe is None or market[1] == timeframe)
    ]
    if len(matches) == 1:
        return markets[matches[0]]
    offer = describe_markets(list(markets))
    if not matches:
        wanted = " ".join(part for part in (symbol, timeframe) if part)
        raise DataError(f"no {wanted} in {folder}: it has {offer}")
    if symbol is None and timeframe is None:
        raise DataError(
            f"{folder} holds {len(markets)} markets ({offer}): choose one with --symbol and"
            " --timeframe"
        )
    missing = "--timeframe" if timeframe is None else "--symbol"
    raise DataError(f"{folder} has {describe_markets(matches)}: choose one with {missing}")


def describe_markets(markets: list[tuple[str, str]]) -> str:
    """`BTC/USDT 1h 4h, ETH/USDT 1h`: a folder's markets, grouped by symbol, in one line."""
    by_symbol: dict[str, list[str]] = {}
    for symbol, timeframe in markets:
        by_symbol.setdefault(symbol, []).append(timeframe)
    return ", ".join(f"{symbol} {' '.join(tfs)}" for symbol, tfs in by_symbol.items())


def _read_bytes(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_DECOMPRESSED_BYTES:
            raise DataError(
                f"{path}: is larger than {MAX_DECOMPRESSED_BYTES // 2**20} MB: not a candle "
                "file (split a longer recording by year)"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found: check the path") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a candle file") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DataError(f"{path}: cannot be read ({reason}): check its permissions") from None
    empty = f"{path}: file is empty: expected the header {HEADER_LINE} and candles"
    if not raw:
        raise DataError(empty)
    if raw.startswith(_GZIP_MAGIC):
        raw = _gunzip(path, raw)
    elif path.name.endswith(".gz"):
        raise DataError(f"{path}: is not gzip data although named .gz: download or record it again")
    if not raw.strip():
        raise DataError(empty)
    return raw


def _gunzip(path: Path, raw: bytes) -> bytes:
    """Every gzip member of `raw`, unzipped, refusing more than MAX_DECOMPRESSED_BYTES."""
    out = bytearray()
    data = raw
    try:
        while data:
            member = zlib.decompressobj(wbits=31)
            out += member.decompress(data, MAX_DECOMPRESSED_BYTES + 1 - len(out))
            if len(out) > MAX_DECOMPRESSED_BYTES:
                raise DataError(
                    f"{path}: unzips to more than {MAX_DECOMPRESSED_BYTES // 2**20} MB: "
                    "not a candle file (split a longer recording by year)"
                )
            if not member.eof:
                raise EOFError("compressed file ended before the end-of-stream marker")
            data = member.unused_data.lstrip(b"\0")  # members may be padded with zeros
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path}: corrupted gzip data ({_one_line(str(exc))}): download or record it again"
        ) from None
    return bytes(out)


def _check_header(path: Path, header: bytes) -> None:
    text = header.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if tuple(name.strip().lower() for name in text.split(",")) != HEADER:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise DataError(f"{path}: header is {shown!r}, expected {HEADER_LINE!r} as the first line")


def _parse(path: Path, body: bytes) -> FloatArray:
    """Fast C parse; on failure (or blank lines, which loadtxt would skip and so shift the row
    numbers) find the exact row the slow way."""
    if b"\n\n" not in body and b"\n\r\n" not in body:
        try:
            table: FloatArray = np.loadtxt(
                io.BytesIO(body), delimiter=",", dtype=np.float64, comments=None, ndmin=2
            )
        except ValueError as exc:
            _explain_parse_failure(path, body)
            raise DataError(f"{path}: cannot be parsed: {_one_line(str(exc))}") from None
        if table.shape[1] == len(HEADER):
            return table
    _explain_parse_failure(path, body)
    raise DataError(f"{path}: cannot be parsed as {len(HEADER)} numeric columns")


def _explain_parse_failure(path: Path, body: bytes) -> None:
    """Raise a DataError for the first malformed data row (returns if it finds none)."""
    for row, line in enumerate(body.decode("utf-8", errors="replace").split("\n"), start=1):
        fields = line.rstrip("\r").split(",")
        where = f"{path} row {row}"
        if not line.strip():
            raise DataError(f"{where}: is empty: remove blank lines between candles")
        if len(fields) != len(HEADER):
            raise DataError(
                f"{where}: has {len(fields)} fields, expected {len(HEADER)} ({HEADER_LINE})"
            )
        for name, field in zip(HEADER, fields, strict=True):
            value = field.strip()
            if not value:
                raise DataError(f"{where}: missing {name} value")
            try:
                float(value)
            except ValueError:
                shown = value if len(value) <= 30 else value[:27] + "..."
                raise DataError(f"{where}: {name} value {shown!r} is not a number") from None


def check_values(path: Path | str, table: FloatArray) -> None:
    """Report the earliest row that breaks any rule, so a user fixes the file top to bottom.

    `table` holds the columns of HEADER; `path` names where the rows come from (a file, or
    the synthetic market, whose series are checked the same way)."""
    ts, prices, volume = table[:, 0], table[:, 1:5], table[:, 5]
    open_, high, low, close = prices.T
    with np.errstate(invalid="ignore"):
        order = np.concatenate(([True], np.diff(ts) > 0))
        checks: list[tuple[BoolArray, Callable[[int], str]]] = [
            (
                _any_in_row(np.isnan(table)),
                lambda i: f"missing {_column(np.isnan(table[i]))} value (empty or NaN)",
            ),
            (
                ~np.isfinite(ts) | (ts != np.floor(ts)),
                lambda i: f"timestamp {_num(ts[i])} is not a whole number of milliseconds",
            ),
            (
                (ts < _MIN_MS) | (ts > MAX_MS),
                lambda i: (
                    f"timestamp {_num(ts[i])} is not in milliseconds since 1970"
                    " (seconds or microseconds?): timestamps must be ms open times"
                ),
            ),
            (
                _any_in_row(np.isinf(prices)),
                lambda i: f"{_price(prices[i], np.isinf(prices[i]))} is not finite",
            ),
            (
                _any_in_row(prices <= 0),
                lambda i: f"{_price(prices[i], prices[i] <= 0)} is not positive",
            ),
            (np.isinf(volume), lambda i: f"volume {_num(volume[i])} is not finite"),
            (volume < 0, lambda i: f"volume {_num(volume[i])} is negative"),
            (
                high < np.maximum(open_, close),
                lambda i: (
                    f"high {_num(high[i])} is below max(open, close)"
                    f" {_num(max(open_[i], close[i]))}"
                ),
            ),
            (
                low > np.minimum(open_, close),
                lambda i: (
                    f"low {_num(low[i])} is above min(open, close) {_num(min(open_[i], close[i]))}"
                ),
            ),
            (
                ~order,
                lambda i: (
                    f"timestamp {_num(ts[i])} is not after the previous row"
                    " (the file must be sorted by time, no duplicates)"
                ),
            ),
        ]
    firsts = [(int(hits[0]), say) for mask, say in checks if (hits := np.flatnonzero(mask)).size]
    if firsts:
        index, say = min(firsts, key=lambda pair: pair[0])
        raise DataError(f"{path} row {index + 1}: {say(index)}")


def _check_spacing(path: Path, ts: IntArray, timeframe: str) -> None:
    """Candles closer than the timeframe mean the file holds another timeframe than claimed."""
    period_ms = timeframe_seconds(timeframe) * 1000
    close_steps = np.flatnonzero(np.diff(ts) < period_ms)
    if close_steps.size:
        i = int(close_steps[0]) + 1
        step_s = int(ts[i] - ts[i - 1]) // 1000
        raise DataError(
            f"{path} row {i + 1}: candle opens {_duration(step_s)} after the previous one,"
            f" less than one {timeframe} candle: the file does not hold {timeframe} candles"
        )


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _any_in_row(mask: BoolArray) -> BoolArray:
    return np.asarray(np.any(mask, axis=1), dtype=np.bool_)


def _column(mask: BoolArray, offset: int = 0) -> str:
    return HEADER[offset + int(np.flatnonzero(mask)[0])]


def _price(row: FloatArray, mask: BoolArray) -> str:
    k = int(np.flatnonzero(mask)[0])
    return f"{HEADER[1 + k]} price {_num(row[k])}"


def _num(value: float | np.floating[npt.NBitBase]) -> str:
    return str(np.format_float_positional(float(value), trim="-"))


def _one_line(text: str) -> str:
    return " ".join(text.split())
