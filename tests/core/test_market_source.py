"""open_market: one spec language for every source, windowed and validated the same way."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from core.errors import DataError, UserError
from core.market.source import MarketRequest, open_market
from core.market.synthetic import generate_synthetic
from tests.conftest import SHARED, needs_shared

MARKETS = SHARED / "markets"
HOUR = 3_600_000
JAN_2024 = 1_704_067_200_000


def write_hourly(path: Path, start: datetime, hours: int) -> Path:
    """A small valid recording: `hours` hourly candles from `start`."""
    t0 = int(start.timestamp() * 1000)
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{t0 + i * HOUR},{100 + i},{102 + i},{99 + i},{101 + i},5" for i in range(hours)]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


@pytest.fixture
def hourly_file(tmp_path: Path) -> Path:
    return write_hourly(tmp_path / "ETH_USDT-1h.csv.gz", datetime(2024, 3, 1, tzinfo=UTC), 48)


def test_default_synthetic_market_is_labelled_and_sized() -> None:
    info, series = open_market(MarketRequest(spec="synthetic"))

    assert (info.source, info.symbol, info.timeframe, info.synthetic) == (
        "synthetic",
        "SYN/USDT",
        "1h",
        True,
    )
    assert len(series) == 2000
    assert series.ts[0] == JAN_2024
    np.testing.assert_array_equal(series.close, generate_synthetic(7).close)


def test_synthetic_seed_bars_and_start_shape_the_series() -> None:
    start = datetime(2024, 6, 1, 12, 0)

    info, series = open_market(
        MarketRequest(spec="synthetic:42", timeframe="5m", bars=300, start=start)
    )

    assert info.source == "synthetic:42"
    assert len(series) == 300
    assert series.ts[0] == int(start.replace(tzinfo=UTC).timestamp() * 1000)
    assert np.all(np.diff(series.ts) == 300_000)


def test_synthetic_start_between_candles_begins_at_the_next_candle() -> None:
    _, series = open_market(
        MarketRequest(spec="synthetic", bars=3, start=datetime(2024, 6, 1, 10, 17))
    )

    assert series.ts[0] == int(datetime(2024, 6, 1, 11, tzinfo=UTC).timestamp() * 1000)


def test_synthetic_start_and_end_cover_the_window_inclusively() -> None:
    _, series = open_market(
        MarketRequest(spec="synthetic", start=datetime(2024, 2, 1), end=datetime(2024, 2, 2))
    )

    assert len(series) == 25
    assert series.ts[-1] == int(datetime(2024, 2, 2, tzinfo=UTC).timestamp() * 1000)


def test_synthetic_end_alone_ends_the_series_there() -> None:
    end = datetime(2024, 5, 1)

    _, series = open_market(MarketRequest(spec="synthetic", bars=100, end=end))

    assert len(series) == 100
    assert series.ts[-1] == int(end.replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize("spec", ["synthetic:abc", "synthetic:", "synthetic:-3"])
def test_synthetic_seed_must_be_a_whole_number(spec: str) -> None:
    with pytest.raises(UserError, match=r"synthetic seed .* is not a whole number"):
        open_market(MarketRequest(spec=spec))


@pytest.mark.parametrize("bars", [0, -5])
def test_bars_must_be_positive(bars: int) -> None:
    with pytest.raises(UserError, match="bars must be at least 1"):
        open_market(MarketRequest(spec="synthetic", bars=bars))


def test_timeframe_is_validated() -> None:
    with pytest.raises(UserError, match="unknown timeframe '90s'"):
        open_market(MarketRequest(spec="synthetic", timeframe="90s"))


@pytest.mark.parametrize(
    ("symbol", "fragment"),
    [("BTCUSDT", "does not look like BASE/QUOTE"), ("BTC_USDT", "did you mean BTC/USDT")],
)
def test_symbol_must_look_like_base_quote(symbol: str, fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        open_market(MarketRequest(spec="synthetic", symbol=symbol))


def test_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(UserError, match="swap --from and --to"):
        open_market(
            MarketRequest(spec="synthetic", start=datetime(2024, 3, 2), end=datetime(2024, 3, 1))
        )


@pytest.mark.parametrize("spec", ["no/such/place.csv.gz", "binance", "exchange"])
def test_unknown_spec_lists_the_accepted_forms(spec: str) -> None:
    with pytest.raises(UserError) as caught:
        open_market(MarketRequest(spec=spec))

    message = str(caught.value)
    assert spec in message
    for form in ("synthetic:SEED", ".csv.gz", "recording folder", "exchange:NAME"):
        assert form in message


def test_file_that_is_not_a_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.parquet"
    path.write_bytes(b"PAR1")

    with pytest.raises(UserError, match=r"is not a \.csv\.gz or \.csv candle file"):
        open_market(MarketRequest(spec=str(path)))


def test_recorded_file_takes_its_market_from_its_name(hourly_file: Path) -> None:
    info, series = open_market(MarketRequest(spec=str(hourly_file)))

    assert (info.source, info.symbol, info.timeframe, info.synthetic) == (
        str(hourly_file),
        "ETH/USDT",
        "1h",
        False,
    )
    assert len(series) == 48


@pytest.mark.parametrize(
    ("symbol", "timeframe", "fragment"),
    [("BTC/USDT", None, "drop --symbol"), (None, "4h", "drop --timeframe")],
)
def test_options_that_contradict_the_file_name_are_refused(
    hourly_file: Path, symbol: str | None, timeframe: str | None, fragment: str
) -> None:
    with pytest.raises(UserError, match=f"holds ETH/USDT 1h .by its name.*{fragment}"):
        open_market(MarketRequest(spec=str(hourly_file), symbol=symbol, timeframe=timeframe))


def test_unnamed_file_needs_symbol_and_timeframe(tmp_path: Path) -> None:
    path = write_hourly(tmp_path / "export.csv.gz", datetime(2024, 3, 1, tzinfo=UTC), 10)

    with pytest.raises(UserError, match="give --symbol and --timeframe"):
        open_market(MarketRequest(spec=str(path)))
    info, series = open_market(MarketRequest(spec=str(path), symbol="SOL/USDT", timeframe="1h"))

    assert (info.symbol, info.timeframe, len(series)) == ("SOL/USDT", "1h", 10)


def test_start_and_end_are_inclusive_then_bars_keeps_the_first(hourly_file: Path) -> None:
    start, end = datetime(2024, 3, 1, 5), datetime(2024, 3, 1, 20)

    _, window = open_market(MarketRequest(spec=str(hourly_file), start=start, end=end))
    _, first = open_market(MarketRequest(spec=str(hourly_file), start=start, end=end, bars=4))

    start_ms = int(start.replace(tzinfo=UTC).timestamp() * 1000)
    assert window.ts[0] == start_ms
    assert window.ts[-1] == int(end.replace(tzinfo=UTC).timestamp() * 1000)
    assert len(window) == 16
    assert first.ts.tolist() == [start_ms + i * HOUR for i in range(4)]


def test_naive_datetimes_mean_utc(hourly_file: Path) -> None:
    naive = datetime(2024, 3, 1, 5)
    aware = datetime(2024, 3, 1, 7, tzinfo=timezone(timedelta(hours=2)))

    _, a = open_market(MarketRequest(spec=str(hourly_file), start=naive, bars=3))
    _, b = open_market(MarketRequest(spec=str(hourly_file), start=aware, bars=3))

    np.testing.assert_array_equal(a.ts, b.ts)


def test_window_outside_the_data_says_what_the_data_covers(hourly_file: Path) -> None:
    request = MarketRequest(
        spec=str(hourly_file), start=datetime(2025, 1, 1), end=datetime(2025, 2, 1)
    )

    with pytest.raises(DataError) as caught:
        open_market(request)

    assert str(caught.value) == (
        "no candles between 2025-01-01 and 2025-02-01:"
        " the data covers 2024-03-01 00:00 to 2024-03-02 23:00 UTC"
    )


def test_folder_with_one_file_needs_no_options(tmp_path: Path) -> None:
    write_hourly(tmp_path / "BTC_USDT-1h.csv.gz", datetime(2024, 3, 1, tzinfo=UTC), 5)

    info, series = open_market(MarketRequest(spec=str(tmp_path)))

    assert (info.symbol, info.timeframe, len(series)) == ("BTC/USDT", "1h", 5)
    assert info.source == str(tmp_path / "BTC_USDT-1h.csv.gz")


def test_exchange_spec_needs_a_symbol_and_a_name() -> None:
    with pytest.raises(UserError, match="needs --symbol"):
        open_market(MarketRequest(spec="exchange:binance"))
    with pytest.raises(UserError, match="needs a ccxt exchange id"):
        open_market(MarketRequest(spec="exchange:", symbol="BTC/USDT"))


@needs_shared
def test_recording_folder_resolves_symbol_and_timeframe() -> None:
    folder = MARKETS / "binance-2023"

    info, series = open_market(
        MarketRequest(spec=str(folder), symbol="ETH/USDT", timeframe="1h", bars=100)
    )

    assert info.source == str(folder / "ETH_USDT-1h.csv.gz")
    assert (info.symbol, info.timeframe, info.synthetic) == ("ETH/USDT", "1h", False)
    assert len(series) == 100
    assert series.ts[0] == int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1000)


@needs_shared
def test_real_folder_without_the_market_lists_what_it_has() -> None:
    folder = MARKETS / "binance-2023"

    with pytest.raises(DataError, match=r"it has BTC/USDT 1h, ETH/USDT 1h$"):
        open_market(MarketRequest(spec=str(folder), symbol="BTC/USDT", timeframe="15m"))


@needs_shared
def test_real_window_outside_the_recording_reports_its_range() -> None:
    request = MarketRequest(
        spec=str(MARKETS / "binance-2023" / "BTC_USDT-1h.csv.gz"),
        start=datetime(2025, 1, 1),
        end=datetime(2025, 2, 1),
    )

    with pytest.raises(
        DataError,
        match=r"^no candles between 2025-01-01 and 2025-02-01: the"
        r" data covers 2023-01-01 00:00 to 2023-12-31 \d\d:00 UTC$",
    ):
        open_market(request)
