"""The recorder in-process: interruptions leave whole files that resume; gaps are found.

The exchange is the offline binance of `tests/offline_binance.py` (real ccxt, recorded
candles), with its transport wrapped to stop where a user's Ctrl-C would.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

import core.datadir
import core.market.recorder as recorder
from core.market.recorded import load_recorded
from core.market.recorder import Gap, find_gaps, record_symbol
from tests.offline_binance import CANDLES_FILE, MARKETS_FILE, offline_binance

pytest.importorskip("ccxt")
needs_recordings = pytest.mark.skipif(
    not (CANDLES_FILE.is_file() and MARKETS_FILE.is_file()),
    reason="../shared/markets/binance-2023 or ../shared/fixtures/ccxt is absent: the offline"
    " exchange serves them",
)
HOUR = 3_600_000
APRIL_1 = 1_680_307_200_000
APRIL_30_END = APRIL_1 + 30 * 24 * HOUR - 1


def interrupted_after(exchange: Any, calls: int) -> Any:
    """The exchange's transport raises KeyboardInterrupt on request number `calls` + 1."""
    fetch = exchange.fetch
    made = 0

    def stopping(*args: Any, **kwargs: Any) -> Any:
        nonlocal made
        made += 1
        if made > calls:
            raise KeyboardInterrupt
        return fetch(*args, **kwargs)

    exchange.fetch = stopping
    return exchange


def record(exchange: Any, out: Path) -> recorder.FileReport:
    return record_symbol(
        exchange, "BTC/USDT", "1h", since_ms=APRIL_1, until_ms=APRIL_30_END, out=out
    )


def source_rows(first_ms: int, last_ms: int) -> list[str]:
    rows = gzip.decompress(CANDLES_FILE.read_bytes()).decode().splitlines()[1:]
    return [row for row in rows if first_ms <= int(row.split(",")[0]) <= last_ms]


@needs_recordings
def test_an_interrupted_recording_keeps_whole_chunks_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder, "CHUNK_CANDLES", 100)  # one request per chunk
    path = tmp_path / "BTC_USDT-1h.csv.gz"

    with pytest.raises(KeyboardInterrupt):
        record(interrupted_after(offline_binance("binance"), 3), tmp_path)

    assert len(load_recorded(path, timeframe="1h")) == 300
    report = record(offline_binance("binance"), tmp_path)
    assert (report.kept, report.added) == (300, 420)
    assert gzip.decompress(path.read_bytes()).decode().splitlines()[1:] == source_rows(
        APRIL_1, APRIL_30_END
    )


@needs_recordings
def test_an_interrupted_write_leaves_the_previous_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder, "CHUNK_CANDLES", 100)
    path = tmp_path / "BTC_USDT-1h.csv.gz"
    replace = core.datadir.os.replace
    writes = 0

    def interrupted_replace(src: Any, dst: Any) -> None:
        nonlocal writes
        writes += 1
        if writes > 2:
            raise KeyboardInterrupt
        replace(src, dst)

    monkeypatch.setattr(core.datadir.os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        record(offline_binance("binance"), tmp_path)

    assert len(load_recorded(path, timeframe="1h")) == 200


def test_gaps_count_the_candles_missing_between_held_ones() -> None:
    held = [0, HOUR, 4 * HOUR, 5 * HOUR, 7 * HOUR]

    assert find_gaps(held, HOUR) == [
        Gap(after_ms=HOUR, missing=2),
        Gap(after_ms=5 * HOUR, missing=1),
    ]
    assert find_gaps([0, HOUR], HOUR) == []
    assert find_gaps([], HOUR) == []


@needs_recordings
def test_only_closed_candles_are_recorded(tmp_path: Path) -> None:
    exchange = offline_binance("binance")
    exchange.milliseconds = lambda: APRIL_1 + 5 * HOUR + 30 * 60_000  # the 05:00 candle forms

    report = record_symbol(
        exchange, "BTC/USDT", "1h", since_ms=APRIL_1, until_ms=None, out=tmp_path
    )

    assert (report.rows, report.last_ms) == (5, APRIL_1 + 4 * HOUR)


@needs_recordings
def test_resume_fetches_both_ends_around_what_the_file_holds(tmp_path: Path) -> None:
    middle = (APRIL_1 + 10 * 24 * HOUR, APRIL_1 + 20 * 24 * HOUR - 1)
    record_symbol(
        offline_binance("binance"), "BTC/USDT", "1h", since_ms=middle[0], until_ms=middle[1],
        out=tmp_path,
    )  # fmt: skip

    report = record(offline_binance("binance"), tmp_path)

    assert (report.kept, report.added, report.rows) == (240, 480, 720)
    path = tmp_path / "BTC_USDT-1h.csv.gz"
    assert gzip.decompress(path.read_bytes()).decode().splitlines()[1:] == source_rows(
        APRIL_1, APRIL_30_END
    )


@needs_recordings
def test_a_complete_file_with_repeated_rows_is_rewritten_without_them(tmp_path: Path) -> None:
    record(offline_binance("binance"), tmp_path)
    path = tmp_path / "BTC_USDT-1h.csv.gz"
    header, *rows = gzip.decompress(path.read_bytes()).decode().splitlines()
    path.write_bytes(gzip.compress("\n".join([header, rows[0], *rows, ""]).encode()))

    report = record(offline_binance("binance"), tmp_path)

    assert (report.added, report.duplicates_dropped) == (0, 1)
    assert gzip.decompress(path.read_bytes()).decode().splitlines() == [header, *rows]
