"""The `tradegraph` command as a user runs it: a real process, real files, one-line errors."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import assert_one_line_error, tradegraph
from tests.support import BTC_2023

needs_btc_2023 = pytest.mark.skipif(
    not BTC_2023.exists(),
    reason="../shared/markets is absent: recorded-market tests need it beside the project",
)
REQUIRED_KEYS = {
    "run_id",
    "market",
    "bars",
    "decisions",
    "orders",
    "fills",
    "denials",
    "equity_start",
    "equity_final",
    "total_return",
    "max_drawdown",
    "traces",
}


def test_help_lists_every_command_with_one_line():
    result = tradegraph("--help")

    assert result.returncode == 0
    assert "run" in result.stdout and "config" in result.stdout


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from api.cli import app; "
        "heavy = {'langgraph', 'chromadb', 'pandas', 'ccxt', 'anthropic', 'talib'}; "
        "heavy &= set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_synthetic_run_writes_the_summary(tmp_path):
    out = tmp_path / "out.json"

    result = tradegraph(
        "run",
        "--market",
        "synthetic:3",
        "--bars",
        "400",
        "--json",
        str(out),
        "--data-dir",
        str(tmp_path / "data"),
        "--quiet",
    )

    assert result.returncode == 0, result.stderr
    summary = json.loads(out.read_text())
    assert set(summary) >= REQUIRED_KEYS
    assert summary["market"]["synthetic"] is True
    assert summary["bars"] == summary["decisions"] == summary["traces"] == 400
    assert 0 <= summary["max_drawdown"] < 1
    assert "SYNTHETIC DATA" in result.stdout
    assert "hash-chained traces" in result.stdout


@pytest.mark.slow
def test_missing_market_file(tmp_path):
    result = tradegraph(
        "run", "--market", str(tmp_path / "nope.csv.gz"), "--data-dir", str(tmp_path)
    )

    assert_one_line_error(result, "nope.csv.gz")


@pytest.mark.slow
def test_corrupted_market_file(tmp_path):
    bad = tmp_path / "BTC_USDT-1h.csv.gz"
    bad.write_bytes(b"this is not gzip")

    result = tradegraph("run", "--market", str(bad), "--data-dir", str(tmp_path))

    assert_one_line_error(result, "BTC_USDT-1h.csv.gz")


def _write_csv(path: Path, rows: list[str]) -> Path:
    with gzip.open(path, "wt") as f:
        f.write("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.slow
def test_malformed_row_names_the_row(tmp_path):
    path = _write_csv(
        tmp_path / "BTC_USDT-1h.csv.gz",
        ["1672531200000,1,2,0.5,1.5,10", "1672534800000,1,two,0.5,1.5,10"],
    )

    result = tradegraph("run", "--market", str(path), "--data-dir", str(tmp_path))

    assert_one_line_error(result, "row 2")


@pytest.mark.slow
def test_unsorted_rows_are_refused(tmp_path):
    path = _write_csv(
        tmp_path / "BTC_USDT-1h.csv.gz",
        ["1672534800000,1,2,0.5,1.5,10", "1672531200000,1,2,0.5,1.5,10"],
    )

    result = tradegraph("run", "--market", str(path), "--data-dir", str(tmp_path))

    assert_one_line_error(result, "row 2")


@pytest.mark.slow
@needs_btc_2023
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--symbol", "DOGE/USDT", "--timeframe", "1h"], "DOGE/USDT"),
        (["--symbol", "BTC/USDT", "--timeframe", "15m"], "15m"),
        (["--symbol", "BTC/USDT", "--timeframe", "1x"], "1x"),
    ],
)
def test_unknown_symbol_or_timeframe_in_a_recording(tmp_path, args, fragment):
    result = tradegraph("run", "--market", str(BTC_2023.parent), *args, "--data-dir", str(tmp_path))

    assert_one_line_error(result, fragment)


@pytest.mark.slow
@needs_btc_2023
def test_window_outside_the_data(tmp_path):
    result = tradegraph(
        "run", "--market", str(BTC_2023), "--from", "2030-01-01", "--data-dir", str(tmp_path)
    )

    assert_one_line_error(result, "2023")


def test_bad_date(tmp_path):
    result = tradegraph("run", "--from", "yesterday", "--data-dir", str(tmp_path))

    assert_one_line_error(result, "--from")


@pytest.mark.slow
def test_anthropic_analyst_without_key(tmp_path):
    result = tradegraph("run", "--analyst", "anthropic", "--data-dir", str(tmp_path))

    assert_one_line_error(result, "ANTHROPIC_API_KEY")


@pytest.mark.slow
def test_unwritable_data_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    result = tradegraph("run", "--bars", "100", "--data-dir", str(blocker / "data"))

    assert_one_line_error(result, "not writable")


def test_unknown_option_is_one_line(tmp_path):
    result = tradegraph("run", "--bogus")

    assert_one_line_error(result, "--bogus")


@pytest.mark.slow
def test_invalid_limit_in_config_is_refused_at_start(tmp_path):
    config = tmp_path / "tradegraph.toml"
    config.write_text("[risk]\nmax_position_fraction = 1.5\n")

    result = tradegraph("run", "--bars", "100", "--data-dir", str(tmp_path), cwd=tmp_path)

    assert_one_line_error(result, "risk.max_position_fraction")


@pytest.mark.slow
def test_contradictory_breaker_stages_are_refused_at_start(tmp_path):
    config = tmp_path / "tradegraph.toml"
    config.write_text("[breakers]\ndrawdown_reducing = 0.2\ndrawdown_halt = 0.15\n")

    result = tradegraph("run", "--bars", "100", "--data-dir", str(tmp_path), cwd=tmp_path)

    assert_one_line_error(result, "drawdown stages must rise")


def test_json_path_that_is_a_folder_is_refused_before_the_run(tmp_path):
    result = tradegraph("run", "--json", str(tmp_path), "--data-dir", str(tmp_path))

    assert_one_line_error(result, "is a folder")


@pytest.mark.slow
@needs_btc_2023
def test_a_bare_to_date_includes_the_whole_day(tmp_path):
    out = tmp_path / "out.json"

    tradegraph(
        "run",
        "--market",
        str(BTC_2023),
        "--from",
        "2023-03-01",
        "--to",
        "2023-03-02",
        "--json",
        str(out),
        "--data-dir",
        str(tmp_path),
        "-q",
    )

    summary = json.loads(out.read_text())
    assert summary["bars"] == 48
    assert summary["market"]["last"] == "2023-03-02T23:00:00Z"


@pytest.mark.slow
def test_memory_off_runs_without_recall(tmp_path):
    result = tradegraph(
        "run", "--bars", "300", "--memory", "off", "--data-dir", str(tmp_path),
        "--json", str(tmp_path / "out.json"), "--quiet",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["memory"] == {
        "enabled": False, "situations": 0, "lessons_written": 0, "lessons": 0
    }  # fmt: skip


def test_memory_takes_on_or_off_only(tmp_path):
    result = tradegraph("run", "--memory", "maybe", "--data-dir", str(tmp_path))

    assert_one_line_error(result, "--memory 'maybe'", "on or --memory off")
