"""`tradegraph record` through the real command line, with ccxt's binance answering offline.

`tests/offline_binance.py` runs the real CLI with a real ccxt binance object whose HTTP layer
serves the recorded BTC/USDT 1h candles of 2023, so paging, parsing and the files written are
what a user gets online. 2023-03-24 13:00 is missing from that recording: a real gap.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import assert_one_line_error, tradegraph
from tests.conftest import SHARED
from tests.offline_binance import CANDLES_FILE, DUPLICATES, MARKETS_FILE

pytest.importorskip("ccxt")
pytestmark = pytest.mark.skipif(
    not (CANDLES_FILE.is_file() and MARKETS_FILE.is_file()),
    reason="../shared/markets/binance-2023 or ../shared/fixtures/ccxt is absent: the offline"
    " exchange serves them",
)

OFFLINE = Path(__file__).resolve().parents[1] / "offline_binance.py"
RECORDING = SHARED / "markets" / "binance-2023"
MARCH_20 = 1_679_270_400_000
APRIL_1 = 1_680_307_200_000
HOUR = 3_600_000


def offline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, str(OFFLINE), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )


def record(out: Path, since: str, until: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = offline(
        "record", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1h",
        "--since", since, "--until", until, "--out", str(out), "--quiet", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def lines(path: Path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode().splitlines()


def source_lines(first_ms: int, last_ms: int) -> list[str]:
    header, *rows = lines(CANDLES_FILE)
    return [header, *(row for row in rows if first_ms <= int(row.split(",")[0]) <= last_ms)]


def test_a_recorded_window_holds_exactly_the_source_candles(tmp_path: Path) -> None:
    out = tmp_path / "rec"

    result = record(out, "2023-03-20", "2023-03-31")

    assert lines(out / "BTC_USDT-1h.csv.gz") == source_lines(MARCH_20, APRIL_1 - HOUR)
    assert "287 candles (287 new, 0 already there, 0 duplicates dropped)" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["BTC_USDT-1h.csv.gz", "manifest.json"]


def test_the_manifest_describes_the_files_as_the_shared_manifest_does(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    record(out, "2023-03-20", "2023-03-31")

    manifest = json.loads((out / "manifest.json").read_text())
    shared = json.loads((SHARED / "markets" / "manifest.json").read_text())

    assert manifest["format"] == shared["format"]
    (recording,) = manifest["recordings"]
    assert set(shared["recordings"][0]) <= set(recording)
    assert recording["exchange"] == "binance"
    assert recording["window_utc"] == ["2023-03-20", "2023-04-01"]
    (entry,) = recording["files"]
    assert set(shared["recordings"][0]["files"][0]) <= set(entry)
    assert entry["file"] == "BTC_USDT-1h.csv.gz"
    assert entry["rows"] == 287
    assert (entry["first"], entry["last"]) == (
        "2023-03-20T00:00:00+00:00",
        "2023-03-31T23:00:00+00:00",
    )


def test_a_gap_is_reported_in_the_output_and_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "rec"

    result = record(out, "2023-03-20", "2023-03-31")

    assert "1 gap (1 candle missing; largest 1 after 2023-03-24T12:00:00+00:00)" in result.stdout
    entry = json.loads((out / "manifest.json").read_text())["recordings"][0]["files"][0]
    assert entry["gaps"] == 1
    assert entry["largest_gap"] == {"after": "2023-03-24T12:00:00+00:00", "missing_candles": 1}


def test_a_window_without_gaps_says_so(tmp_path: Path) -> None:
    result = record(tmp_path / "rec", "2023-04-01", "2023-04-02")

    assert "no gaps" in result.stdout


def test_eval_replays_a_recording_like_the_source_window(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    record(out, "2023-03-20", "2023-03-31")

    mine = tradegraph(
        "eval", "--market", str(out), "--symbol", "BTC/USDT", "--timeframe", "1h", "--quiet",
        "--out", str(tmp_path / "mine"), "--data-dir", str(tmp_path / "d1"),
    )  # fmt: skip
    theirs = tradegraph(
        "eval", "--market", str(RECORDING), "--symbol", "BTC/USDT", "--timeframe", "1h",
        "--from", "2023-03-20", "--to", "2023-03-31", "--quiet",
        "--out", str(tmp_path / "theirs"), "--data-dir", str(tmp_path / "d2"),
    )  # fmt: skip

    assert mine.returncode == 0, mine.stderr
    assert theirs.returncode == 0, theirs.stderr
    reports = [json.loads((tmp_path / n / "report.json").read_text()) for n in ("mine", "theirs")]
    hashes = [report["determinism"]["trace_root_hash"] for report in reports]
    assert hashes[0] == hashes[1]


def test_resume_appends_only_the_missing_candles_and_keeps_the_file_as_written(
    tmp_path: Path,
) -> None:
    out = tmp_path / "rec"
    record(out, "2023-03-20", "2023-03-25")
    path = out / "BTC_USDT-1h.csv.gz"
    header, first, *rest = lines(path)
    written_by_hand = first.replace(",", ", ", 1)  # a row as someone else wrote it
    path.write_bytes(gzip.compress("\n".join([header, written_by_hand, *rest, ""]).encode()))

    result = record(out, "2023-03-20", "2023-03-31")

    assert "(144 new, 143 already there, 0 duplicates dropped)" in result.stdout
    assert lines(path) == [header, written_by_hand, *source_lines(MARCH_20, APRIL_1 - HOUR)[2:]]


def test_resume_drops_duplicate_rows_of_a_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    record(out, "2023-03-20", "2023-03-25")
    path = out / "BTC_USDT-1h.csv.gz"
    header, *rows = lines(path)
    path.write_bytes(gzip.compress("\n".join([header, *rows, *rows[-3:], ""]).encode()))

    result = record(out, "2023-03-20", "2023-03-31")

    assert "(144 new, 143 already there, 3 duplicates dropped)" in result.stdout
    assert lines(path) == source_lines(MARCH_20, APRIL_1 - HOUR)


def test_a_recording_already_complete_is_left_untouched(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    record(out, "2023-03-20", "2023-03-31")
    path = out / "BTC_USDT-1h.csv.gz"
    before = path.stat().st_mtime_ns

    result = record(out, "2023-03-20", "2023-03-31")

    assert "(0 new, 287 already there, 0 duplicates dropped)" in result.stdout
    assert path.stat().st_mtime_ns == before


def test_duplicates_in_the_exchange_answers_are_dropped(tmp_path: Path) -> None:
    out = tmp_path / "rec"

    result = record(out, "2023-03-01", "2023-04-30", **{DUPLICATES: "1"})

    assert "duplicates dropped" in result.stdout
    assert " 0 duplicates dropped" not in result.stdout
    assert lines(out / "BTC_USDT-1h.csv.gz") == source_lines(1_677_628_800_000, 1_682_895_600_000)


def test_several_symbols_are_checked_before_anything_is_fetched(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    result = offline(
        "record", "--exchange", "binance", "--symbol", "BTC/USDT", "--symbol", "BTC/USDX",
        "--timeframe", "1h", "--since", "2023-03-20", "--out", str(out),
    )  # fmt: skip

    assert_one_line_error(result, "binance has no market BTC/USDX", "BTC/USDT")
    assert not out.exists()


BAD_INPUTS = {
    "unknown exchange": (("--exchange", "binanse"), ("unknown exchange 'binanse'", "binance")),
    "unknown symbol": (("--symbol", "BTC/USDX"), ("no market BTC/USDX", "BTC/USDT")),
    "since after until": (("--since", "2023-04-01", "--until", "2023-03-01"), ("--since",)),
    "bad timeframe": (("--timeframe", "1x"), ("unknown timeframe '1x'",)),
    "timeframe the exchange lacks": (("--timeframe", "7m"), ("binance has no 7m candles",)),
    "bad date": (("--since", "March"), ("--since 'March' is not a date",)),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    given, fragments = BAD_INPUTS[case]
    options = {"--exchange": "binance", "--symbol": "BTC/USDT", "--timeframe": "1h"}
    options |= {"--since": "2023-03-20", "--out": str(tmp_path / "rec")}
    options |= dict(zip(given[::2], given[1::2], strict=True))
    args = ["record", *(part for pair in options.items() for part in pair)]
    # an unknown exchange is refused by the real command, before any network
    result = tradegraph(*args) if case == "unknown exchange" else offline(*args)

    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "rec").exists()


def test_an_out_folder_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    file = tmp_path / "taken"
    file.write_text("not a folder")

    result = offline(
        "record", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1h",
        "--since", "2023-03-20", "--out", str(file),
    )  # fmt: skip

    assert_one_line_error(result, f"--out {file} is a file")
    assert file.read_text() == "not a folder"


@pytest.mark.slow
def test_a_whole_recorded_year_is_recorded_candle_for_candle(tmp_path: Path) -> None:
    out = tmp_path / "rec"

    record(out, "2023-01-01", "2023-12-31")

    assert lines(out / "BTC_USDT-1h.csv.gz") == lines(CANDLES_FILE)
