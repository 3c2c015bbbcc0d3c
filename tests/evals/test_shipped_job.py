"""A suite job packed for a worker that shares no filesystem: the files it reads, the settings
it runs with (never a secret), and a report equal to the local run's."""

import gzip
import json
import os

import pytest

from core.errors import UserError
from core.settings import load_settings
from evals.shipped_job import (
    read_recording,
    recording_of,
    run_shipped,
    settings_variables,
    shipped_settings,
)
from evals.suite import SuiteJob
from evals.suite_runner import run_job
from tests.conftest import SHARED

BTC_2023 = SHARED / "markets" / "binance-2023"


def _job(market, **options) -> SuiteJob:
    return SuiteJob(
        label="m/default", market_label="m", config="default", options={"market": market, **options}
    )


def _recording_folder(tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir()
    for name in ("BTC_USDT-1h.csv.gz", "ETH_USDT-1h.csv.gz", "BTC_USDT-4h.csv.gz", "notes.txt"):
        (folder / name).write_bytes(b"")
    return folder


def test_a_job_ships_only_the_files_its_market_reads(tmp_path):
    folder = _recording_folder(tmp_path)

    one = recording_of(_job(str(folder), symbol="btc/usdt", timeframe="1h"))
    portfolio = recording_of(_job(str(folder), symbol="BTC/USDT,ETH/USDT", timeframe="1h"))
    single = recording_of(_job(str(folder / "BTC_USDT-4h.csv.gz")))

    assert one is not None and one.names == ("BTC_USDT-1h.csv.gz",) and one.market == ""
    assert portfolio is not None and portfolio.names == ("BTC_USDT-1h.csv.gz", "ETH_USDT-1h.csv.gz")
    assert single is not None and single.market == "BTC_USDT-4h.csv.gz"
    assert single.paths() == [folder / "BTC_USDT-4h.csv.gz"]
    assert recording_of(_job("synthetic:7")) is None


@pytest.mark.parametrize(
    ("market", "options", "fragment"),
    [
        ("missing", {}, "is not an existing file or folder"),
        ("rec", {"symbol": "SOL/USDT", "timeframe": "1h"}, "no SOL/USDT 1h in"),
        ("rec", {}, "choose one with --symbol and --timeframe"),
        ("rec", {"symbol": "BTC/USDT", "timeframe": "7q"}, "7q"),
    ],
)
def test_a_market_that_cannot_be_opened_is_the_local_runs_line(tmp_path, market, options, fragment):
    _recording_folder(tmp_path)

    with pytest.raises(UserError, match=fragment):
        recording_of(_job(str(tmp_path / market), **options))


def test_an_unreadable_recording_is_one_line(tmp_path):
    with pytest.raises(UserError, match="cannot be read"):
        read_recording(tmp_path)  # a folder, not a file


def test_settings_travel_as_values_and_never_a_secret(tmp_path, monkeypatch):
    config = tmp_path / "driver.toml"
    config.write_text(
        'anthropic_api_key = "sk-from-the-file"\n[risk]\nmax_position_fraction = 0.2\n'
    )
    monkeypatch.setenv("TRADEGRAPH_CONFIG", str(config))
    monkeypatch.setenv("TRADEGRAPH_BREAKERS__DRAWDOWN_HALT", "0.12")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-the-shell")
    driver = load_settings()

    variables = settings_variables()

    assert "sk-from" not in json.dumps(variables)
    assert not any("KEY" in name for name in variables)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("TRADEGRAPH_RISK__MAX_ORDER_NOTIONAL", "1")  # the worker's own: set aside
    with shipped_settings(variables, tmp_path):
        worker = load_settings()
    assert os.environ["TRADEGRAPH_RISK__MAX_ORDER_NOTIONAL"] == "1"  # restored after the job
    assert worker.anthropic_api_key is None
    assert worker.model_dump(exclude={"data_dir"}) == driver.model_dump(exclude={"data_dir"})
    assert worker.risk.max_position_fraction == 0.2 and worker.breakers.drawdown_halt == 0.12


@pytest.mark.slow
@pytest.mark.parametrize(
    "market",
    [
        pytest.param("synthetic:7", id="synthetic"),
        pytest.param(
            str(BTC_2023),
            id="recording",
            marks=pytest.mark.skipif(
                not BTC_2023.is_dir(), reason="../shared/markets is absent: needs binance-2023"
            ),
        ),
    ],
)
def test_a_shipped_job_reports_what_the_local_run_reports(tmp_path, market):
    job = _job(market, symbol=None if market.startswith("synthetic") else "BTC/USDT", bars=200)
    recording = recording_of(job)
    files = {p.name: read_recording(p) for p in recording.paths()} if recording else {}

    row, texts = run_shipped(job, recording, files, settings_variables())
    local = run_job(job, str(tmp_path / "local"))

    shipped, here = row["report"], local["report"]
    assert shipped["determinism"] == here["determinism"]
    assert shipped["market"] == here["market"]  # the driver's recording, not the worker's copy
    assert shipped["agent"] == here["agent"] and shipped["metrics"] == here["metrics"]
    assert json.loads(texts["report.json"]) == shipped
    assert "tradegraph-job-" not in texts["report.html"]
    assert set(texts) == {"report.json", "report.html", "trades.csv"}  # stores stay on the worker
    assert texts["trades.csv"] == (tmp_path / "local" / "trades.csv").read_text()


def test_a_shipped_job_that_fails_names_the_drivers_file(tmp_path):
    bad = tmp_path / "BTC_USDT-1h.csv.gz"
    bad.write_bytes(gzip.compress(b"timestamp,open,high,low,close,volume\n1,2,3\n"))
    job = _job(str(bad))
    recording = recording_of(job)

    row, texts = run_shipped(job, recording, {bad.name: bad.read_bytes()}, settings_variables())

    assert texts == {}
    assert row["error"].startswith(f"{bad} row 1:") and "\n" not in row["error"]
