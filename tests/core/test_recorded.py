"""Recorded candle files: real recordings load fast, and every malformation is one clear line."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import DataError
from core.market.recorded import (
    infer_market,
    load_recorded,
    market_file_name,
    recording_markets,
    resolve_recording,
)
from tests.conftest import SHARED, needs_shared

MARKETS = SHARED / "markets"
HEADER = "timestamp,open,high,low,close,volume"
T0 = 1_672_531_200_000  # 2023-01-01T00:00Z
HOUR = 3_600_000
GOOD_ROWS = [
    f"{T0},100.0,101.5,99.0,100.5,12.5",
    f"{T0 + HOUR},100.5,102.0,100.1,101.0,8.0",
    f"{T0 + 2 * HOUR},101.0,101.2,99.5,100.0,0",
    f"{T0 + 3 * HOUR},100.0,100.8,99.9,100.2,3.25",
]


def write_gz(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode()))
    return path


def csv_text(rows: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def with_row(index: int, row: str) -> list[str]:
    rows = list(GOOD_ROWS)
    rows[index] = row
    return rows


@needs_shared
def test_real_recording_loads_with_every_row() -> None:
    s = load_recorded(MARKETS / "binance-2023" / "BTC_USDT-1h.csv.gz", timeframe="1h")

    assert len(s) == 8759
    assert s.ts[0] == T0
    assert np.all(np.diff(s.ts) > 0)
    assert s.ts.dtype == np.int64
    assert s.close.dtype == np.float64
    assert s.close[0] == pytest.approx(16529.67)


@needs_shared
def test_real_recording_keeps_gaps_and_zero_volume_candles() -> None:
    s = load_recorded(MARKETS / "binance-2020-09_2021-10" / "BTC_USDT-1h.csv.gz", timeframe="1h")

    assert np.count_nonzero(np.diff(s.ts) > HOUR) == 9
    assert np.count_nonzero(s.volume == 0) == 1


@needs_shared
def test_65k_row_5m_file_loads_well_under_a_second() -> None:
    path = MARKETS / "binance-2020-12_2021-07-5m" / "BTC_USDT-5m.csv.gz"

    began = time.process_time()  # CPU time: other processes on the machine do not count
    s = load_recorded(path, timeframe="5m")
    elapsed = time.process_time() - began

    assert len(s) == 65_741
    assert elapsed < 0.5


def test_gzip_and_plain_csv_give_the_same_series(tmp_path: Path) -> None:
    gz = write_gz(tmp_path / "BTC_USDT-1h.csv.gz", csv_text(GOOD_ROWS))
    plain = tmp_path / "BTC_USDT-1h.csv"
    plain.write_text(csv_text(GOOD_ROWS).replace("\n", "\r\n"))

    a, b = load_recorded(gz), load_recorded(plain)

    np.testing.assert_array_equal(a.ts, b.ts)
    np.testing.assert_array_equal(a.close, b.close)
    assert a.ts.tolist() == [T0 + i * HOUR for i in range(4)]


def test_gap_and_zero_volume_are_legal(tmp_path: Path) -> None:
    rows = [GOOD_ROWS[0], GOOD_ROWS[2], GOOD_ROWS[3]]  # one hour missing; row 2 has no volume
    path = write_gz(tmp_path / "BTC_USDT-1h.csv.gz", csv_text(rows))

    s = load_recorded(path, timeframe="1h")

    assert len(s) == 3
    assert s.volume[1] == 0.0


def test_single_candle_file_loads(tmp_path: Path) -> None:
    path = write_gz(tmp_path / "BTC_USDT-1h.csv.gz", csv_text(GOOD_ROWS[:1]))

    s = load_recorded(path)

    assert len(s) == 1
    assert s.high[0] == 101.5


# (case id, file rows, expected fragment after "<file> row N: ")
ROW_CASES = [
    ("non-numeric", with_row(1, f"{T0 + HOUR},100.5,102.0,100.1,abc,8.0"), 2, "close value 'abc'"),
    ("missing value", with_row(1, f"{T0 + HOUR},100.5,102.0,100.1,101.0,"), 2, "missing volume"),
    ("too few fields", with_row(2, f"{T0 + 2 * HOUR},101.0,101.2,99.5,100.0"), 3, "has 5 fields"),
    ("nan", with_row(1, f"{T0 + HOUR},nan,102.0,100.1,101.0,8.0"), 2, "missing open value"),
    ("infinite price", with_row(3, f"{T0 + 3 * HOUR},100.0,inf,99.9,100.2,1"), 4, "high price inf"),
    ("zero price", with_row(1, f"{T0 + HOUR},100.5,102.0,0,101.0,8.0"), 2, "low price 0 is not"),
    ("negative price", with_row(1, f"{T0 + HOUR},-1,102.0,-2,101.0,8"), 2, "open price -1 is not"),
    ("negative volume", with_row(2, f"{T0 + 2 * HOUR},101.0,101.2,99.5,100.0,-1"), 3, "volume -1"),
    ("high below body", with_row(1, f"{T0 + HOUR},100.5,100.9,100.1,101.0,8"), 2, "high 100.9"),
    ("low above body", with_row(1, f"{T0 + HOUR},100.5,102.0,100.7,101.0,8"), 2, "low 100.7"),
    ("duplicate", with_row(2, f"{T0 + HOUR},101.0,101.2,99.5,100.0,1"), 3, "is not after"),
    ("unsorted", with_row(3, f"{T0},100.0,100.8,99.9,100.2,3.25"), 4, "sorted by time"),
    ("seconds", with_row(0, f"{T0 // 1000},100.0,101.5,99.0,100.5,12.5"), 1, "milliseconds"),
    ("fractional ms", with_row(0, f"{T0}.5,100.0,101.5,99.0,100.5,12.5"), 1, "whole number"),
    ("blank line", [GOOD_ROWS[0], "", *GOOD_ROWS[1:]], 2, "is empty"),
]


@pytest.mark.parametrize(
    ("rows", "row", "fragment"), [c[1:] for c in ROW_CASES], ids=[c[0] for c in ROW_CASES]
)
def test_malformed_row_names_file_and_row(
    tmp_path: Path, rows: list[str], row: int, fragment: str
) -> None:
    path = write_gz(tmp_path / "BTC_USDT-1h.csv.gz", csv_text(rows))

    with pytest.raises(DataError) as caught:
        load_recorded(path)

    message = str(caught.value)
    assert message.startswith(f"{path} row {row}: ")
    assert fragment in message
    assert "\n" not in message


def test_duplicate_timestamp_message_says_what_the_file_must_be(tmp_path: Path) -> None:
    path = write_gz(tmp_path / "BTC_USDT-1h.csv.gz", csv_text([*GOOD_ROWS, GOOD_ROWS[-1]]))

    with pytest.raises(DataError) as caught:
        load_recorded(path)

    assert str(caught.value) == (
        f"{path} row 5: timestamp {T0 + 3 * HOUR} is not after the previous row"
        " (the file must be sorted by time, no duplicates)"
    )


def test_earliest_bad_row_is_reported_first(tmp_path: Path) -> None:
    rows = list(GOOD_ROWS)
    rows[3] = f"{T0 + 3 * HOUR},100.0,100.8,99.9,100.2,-5"  # row 4: negative volume
    rows[1] = f"{T0},100.5,102.0,100.1,101.0,8.0"  # row 2: duplicate timestamp
    path = write_gz(tmp_path / "BTC_USDT-1h.csv.gz", csv_text(rows))

    with pytest.raises(DataError, match=r"row 2: timestamp"):
        load_recorded(path)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "file not found"),
        (b"", "file is empty"),
        (gzip.compress(b""), "file is empty"),
        (gzip.compress(csv_text(GOOD_ROWS).encode())[:-12], "corrupted gzip"),
        (gzip.compress(csv_text(GOOD_ROWS).encode())[:10] + b"garbage" * 20, "corrupted gzip"),
        (csv_text(GOOD_ROWS).encode(), "not gzip data"),
        (gzip.compress(HEADER.encode() + b"\n"), "has a header but no candles"),
        (
            gzip.compress(csv_text(GOOD_ROWS, header="date,open,high,low,close,volume").encode()),
            "expected 'timestamp,open,high,low,close,volume'",
        ),
        (gzip.compress("\n".join(GOOD_ROWS).encode()), "expected 'timestamp,open,high,low"),
    ],
    ids=[
        "missing",
        "zero bytes",
        "empty gzip",
        "truncated",
        "garbage",
        "plain",
        "header only",
        "wrong header",
        "no header",
    ],
)
def test_unusable_file_names_the_file(tmp_path: Path, content: bytes | None, fragment: str) -> None:
    path = tmp_path / "ETH_USDT-5m.csv.gz"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(DataError) as caught:
        load_recorded(path)

    message = str(caught.value)
    assert message.startswith(str(path))
    assert fragment in message
    assert "\n" not in message


def test_candles_closer_than_the_timeframe_are_refused(tmp_path: Path) -> None:
    path = write_gz(tmp_path / "BTC_USDT-4h.csv.gz", csv_text(GOOD_ROWS))

    with pytest.raises(DataError, match=r"row 2: candle opens 1h after .* does not hold 4h"):
        load_recorded(path, timeframe="4h")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ETH_USDT-5m.csv.gz", ("ETH/USDT", "5m")),
        ("BTC_USDT-1h.csv", ("BTC/USDT", "1h")),
        ("1INCH_USDT-1d.csv.gz", ("1INCH/USDT", "1d")),
        ("BTC_USDT-1h.json", None),
        ("BTC_USDT_USDT-1h-futures.csv.gz", None),
        ("prices.csv.gz", None),
        ("BTC_USDT-0m.csv.gz", None),
    ],
)
def test_market_is_inferred_from_the_file_name(name: str, expected: tuple[str, str] | None) -> None:
    assert infer_market(Path("some/folder") / name) == expected


def test_market_file_name_follows_the_recording_layout() -> None:
    assert market_file_name("BTC/USDT", "1h") == "BTC_USDT-1h.csv.gz"


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    folder = tmp_path / "rec"
    folder.mkdir()
    for name in ("BTC_USDT-1h.csv.gz", "BTC_USDT-4h.csv.gz", "ETH_USDT-1h.csv.gz"):
        write_gz(folder / name, csv_text(GOOD_ROWS))
    (folder / "manifest.json").write_text("{}")
    return folder


def test_folder_lists_its_markets_in_order(recording: Path) -> None:
    assert list(recording_markets(recording)) == [
        ("BTC/USDT", "1h"),
        ("BTC/USDT", "4h"),
        ("ETH/USDT", "1h"),
    ]


def test_folder_resolves_symbol_and_timeframe_to_a_file(recording: Path) -> None:
    assert resolve_recording(recording, "BTC/USDT", "4h") == recording / "BTC_USDT-4h.csv.gz"
    assert resolve_recording(recording, "ETH/USDT") == recording / "ETH_USDT-1h.csv.gz"


def test_missing_market_error_lists_what_the_folder_has(recording: Path) -> None:
    with pytest.raises(DataError) as caught:
        resolve_recording(recording, "BTC/USDT", "15m")

    assert (
        str(caught.value) == f"no BTC/USDT 15m in {recording}: it has BTC/USDT 1h 4h, ETH/USDT 1h"
    )


@pytest.mark.parametrize(
    ("symbol", "timeframe", "fragment"),
    [
        (None, None, "holds 3 markets (BTC/USDT 1h 4h, ETH/USDT 1h): choose one with --symbol"),
        ("BTC/USDT", None, "has BTC/USDT 1h 4h: choose one with --timeframe"),
        (None, "1h", "has BTC/USDT 1h, ETH/USDT 1h: choose one with --symbol"),
    ],
)
def test_ambiguous_folder_asks_for_the_missing_choice(
    recording: Path, symbol: str | None, timeframe: str | None, fragment: str
) -> None:
    with pytest.raises(DataError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        resolve_recording(recording, symbol, timeframe)


def test_folder_without_market_files_says_what_names_it_expects(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"named like BTC_USDT-1h\.csv\.gz"):
        resolve_recording(tmp_path)


@needs_shared
def test_real_folder_error_lists_its_markets() -> None:
    folder = MARKETS / "binance-2023"

    with pytest.raises(DataError) as caught:
        resolve_recording(folder, "BTC/USDT", "15m")

    assert str(caught.value) == f"no BTC/USDT 15m in {folder}: it has BTC/USDT 1h, ETH/USDT 1h"
