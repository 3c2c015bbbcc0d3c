"""`tradegraph eval` as a user runs it: reports, determinism, look-ahead check, bad input."""

import json
import os
import re
import selectors
import signal
import subprocess
import time

import pytest

from tests.agents.reference_model import RUN_ARGS, SCRIPTED_RUN_CASSETTE
from tests.cli import TRADEGRAPH, assert_one_line_error, tradegraph
from tests.support import BTC_2023

METRICS = {
    "total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown", "volatility",
    "win_rate", "trades", "exposure", "turnover", "fees_paid",
}  # fmt: skip
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PROGRESS_SECONDS = 300


def _eval(out, *args, env=None):
    result = tradegraph("eval", *args, "--out", str(out), "--quiet", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((out / "report.json").read_text())


# The tests that read the one report share a worker, so the evaluation runs once.
EVAL_REPORT = pytest.mark.xdist_group("eval-report")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    return out, _eval(out, "--market", "synthetic:5", "--bars", "900")


@pytest.mark.slow
@EVAL_REPORT
def test_report_json_has_the_documented_schema(report):
    _, data = report

    assert set(data) >= {
        "market", "agent", "metrics", "baselines", "risk", "llm", "perf", "determinism"
    }  # fmt: skip
    assert set(data["market"]) == {
        "source", "symbol", "timeframe", "first", "last", "bars", "synthetic"
    }  # fmt: skip
    assert set(data["agent"]) >= {"analyst", "model", "prompt_version", "config_hash"}
    assert set(data["metrics"]) == METRICS
    assert set(data["baselines"]) == {"buy_and_hold", "sma_crossover", "cash"}
    assert all(set(b) == METRICS for b in data["baselines"].values())
    assert set(data["risk"]) == {"violations", "denials", "breaker_trips", "final_state"}
    assert set(data["llm"]) == {
        "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cost_usd"
    }  # fmt: skip
    assert set(data["perf"]) == {"wall_seconds", "decisions_per_second", "bars_per_second"}
    assert re.fullmatch(r"[0-9a-f]{64}", data["determinism"]["trace_root_hash"])
    assert data["market"]["bars"] == 900 and data["market"]["synthetic"] is True
    assert data["risk"]["violations"] == 0
    assert 0 <= data["metrics"]["max_drawdown"] < 1
    assert data["baselines"]["cash"]["total_return"] == 0.0
    assert data["schema_version"] == 2
    assert set(data) >= {"trades", "trade_stats", "periods", "per_symbol", "notes", "warnings"}
    assert set(data["series"]) == {"initial", "times_ms", "agent", "exposure"}
    assert len(data["series"]["agent"]) == 900 and data["trade_stats"]["trades"] == len(
        data["trades"]
    )


@pytest.mark.slow
@EVAL_REPORT
def test_report_html_is_one_self_contained_page_with_plots(report):
    out, _ = report
    html = (out / "report.html").read_text()

    assert html.count('class="plotly-graph-div"') >= 4 and html.count("plotly.js v") == 1
    assert not re.search(r"<script[^>]*\bsrc=|<link[^>]*\bhref=|<img", html)
    for heading in ("Metrics", "Equity", "Drawdown", "Trades on price", "Breaker trips"):
        assert f"<h2>{heading}</h2>" in html
    assert "SYNTHETIC DATA" in html


@pytest.mark.slow
@EVAL_REPORT
def test_two_evaluations_with_the_same_inputs_have_the_same_root(report, tmp_path):
    _, first = report

    second = _eval(tmp_path / "again", "--market", "synthetic:5", "--bars", "900")

    assert second["run_id"] != first["run_id"]
    assert second["determinism"] == first["determinism"]
    assert second["metrics"] == first["metrics"]


@pytest.mark.slow
@EVAL_REPORT
def test_a_different_market_has_a_different_root(report, tmp_path):
    _, first = report

    other = _eval(tmp_path / "other", "--market", "synthetic:6", "--bars", "900")

    assert other["determinism"] != first["determinism"]


@pytest.mark.slow
def test_the_lookahead_check_passes_for_the_real_graph(tmp_path):
    result = tradegraph(
        "eval", "--market", "synthetic:3", "--bars", "700", "--check-lookahead",
        "--out", str(tmp_path), "--quiet",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": identical") == 3


@pytest.mark.slow
def test_an_llm_run_from_the_scripted_cassette_replays_bit_identically(tmp_path):
    args = ("--analyst", "anthropic", *RUN_ARGS, "--cassette", str(SCRIPTED_RUN_CASSETTE))

    first = _eval(tmp_path / "a", *args)
    second = _eval(tmp_path / "b", *args)

    assert first["llm"]["requests"] > 60
    assert first["determinism"] == second["determinism"]
    assert first["agent"]["model"] == "claude-sonnet-4-6"


def _wait_until_deciding(process: subprocess.Popen, total: int) -> str:
    """Read the progress bar until it counts a decision, so the interrupt lands mid-replay
    (not during start-up, however slow the machine); its output so far is returned."""
    assert process.stdout is not None
    counted = re.compile(rf"(\d+)/{total}\b")
    output = b""
    deadline = time.monotonic() + PROGRESS_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(timeout=remaining):
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            output += chunk
            text = ANSI.sub("", output.decode(errors="replace"))
            if any(int(done) > 0 for done in counted.findall(text)):
                return text
    process.kill()
    process.communicate()
    pytest.fail(
        f"no decision counted within {PROGRESS_SECONDS} s:\n{output.decode(errors='replace')}"
    )


@pytest.mark.slow
@pytest.mark.slow
def test_ctrl_c_leaves_a_partial_report_marked_partial(tmp_path):
    bars = 60000
    environment = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    # rich draws its progress bar into a pipe only when told that the pipe is a terminal.
    environment.update(TTY_COMPATIBLE="1", TTY_INTERACTIVE="1", COLUMNS="120")
    process = subprocess.Popen(
        [str(TRADEGRAPH), "eval", "--market", "synthetic:4", "--bars", str(bars),
         "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment,
    )  # fmt: skip
    started = _wait_until_deciding(process, bars)

    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=120)

    output = started + rest.decode(errors="replace")
    assert process.returncode == 130, output
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["partial"] is True and 0 < data["market"]["bars"] < bars
    assert "Partial report" in (tmp_path / "report.html").read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--market", "nowhere.csv.gz"), "nowhere.csv.gz"),
        (("--analyst", "anthropic"), "ANTHROPIC_API_KEY"),
        (("--memory", "sometimes"), "--memory"),
    ],
)
def test_eval_mistakes_get_one_line(tmp_path, args, fragment):
    result = tradegraph("eval", *args, "--out", str(tmp_path / "out"))

    assert_one_line_error(result, fragment)


@pytest.mark.slow
@pytest.mark.skipif(not BTC_2023.exists(), reason="../shared/markets is absent: needs BTC 2023")
def test_an_empty_window_is_one_line(tmp_path):
    result = tradegraph(
        "eval", "--market", str(BTC_2023), "--from", "2030-01-01", "--out", str(tmp_path)
    )

    assert_one_line_error(result, "2023")


def test_an_unwritable_out_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    result = tradegraph("eval", "--bars", "50", "--out", str(blocker / "report"))

    assert_one_line_error(result, "--out")


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ("missing/trades.csv", "does not exist"),
        ("ledger.sqlite", "data directory's own files"),
        ("report.json", "would overwrite the report"),
    ],
)
def test_a_trades_csv_that_cannot_be_written_is_one_line_before_the_replay(
    tmp_path, where, fragment
):
    out = tmp_path / "out"

    result = tradegraph("eval", "--bars", "50", "--out", str(out), "--trades-csv", str(out / where))

    assert_one_line_error(result, "--trades-csv", fragment)
    assert not (out / "report.json").exists()


@pytest.mark.slow
def test_eval_writes_the_trades_csv_asked_for_and_sums_the_trades_up(tmp_path):
    wanted = tmp_path / "mine.csv"

    result = tradegraph(
        "eval", "--market", "synthetic:5", "--bars", "300", "--out", str(tmp_path / "out"),
        "--quiet", "--trades-csv", str(wanted),
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert wanted.read_text() == (tmp_path / "out" / "trades.csv").read_text()
    assert wanted.read_text().startswith("symbol,entry_time,entry_ms,exit_time,")
    assert re.search(r"trades: win rate \d+\.\d%, profit factor ", result.stdout)
    assert "warning: " in result.stdout and "fewer than 30: the trade statistics" in result.stdout
    assert "note: annualized figures" in result.stdout and "Sharpe n/a" in result.stdout


def test_the_lookahead_check_refuses_a_window_too_short_to_cut(tmp_path):
    result = tradegraph("eval", "--bars", "2", "--check-lookahead", "--out", str(tmp_path))

    assert_one_line_error(result, "--check-lookahead needs at least")
