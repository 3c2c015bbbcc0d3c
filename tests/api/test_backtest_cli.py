"""`tradegraph backtest`: every strategy on every recording and the synthetic market, its report,
and one clear line for every mistake."""

import json

import pytest

from tests.cli import assert_one_line_error, tradegraph
from tests.conftest import SHARED, needs_shared
from tools.strategies import STRATEGIES

MARKETS = SHARED / "markets"


def _recordings() -> list[tuple[str, str, str]]:
    """(folder, symbol, timeframe) of the first file of every recording in ../shared/markets."""
    manifest = MARKETS / "manifest.json"
    if not manifest.exists():
        return []
    found = []
    for recording in json.loads(manifest.read_text())["recordings"]:
        folder, _, name = recording["files"][0]["file"].partition("/")
        pair, _, timeframe = name.removesuffix(".csv.gz").rpartition("-")
        found.append((folder, pair.replace("_", "/"), timeframe))
    return found


@needs_shared
@pytest.mark.slow
def test_the_command_backtests_on_every_recording():
    recordings = _recordings()
    names = sorted(STRATEGIES)
    assert len(recordings) >= 5, recordings
    for i, (folder, symbol, timeframe) in enumerate(recordings):
        name = names[i % len(names)]
        partner = "ETH/USDT" if symbol != "ETH/USDT" else "BTC/USDT"
        ran = tradegraph(
            "backtest", "--strategy", name, "--market", str(MARKETS / folder),
            "--symbol", symbol, "--timeframe", timeframe,
            *(["--partner", partner] if STRATEGIES[name].needs_partner else []),
        )  # fmt: skip
        assert ran.returncode == 0, f"{name} on {folder} {symbol} {timeframe}: {ran.stderr}"
        assert f"{symbol} {timeframe}" in ran.stdout


@needs_shared
@pytest.mark.slow
def test_every_strategy_backtests_on_every_recording():
    from core.market.source import MarketRequest, open_market
    from core.types.market import timeframe_seconds
    from tools.strategies.partner import align_partner
    from tools.strategy_backtest import backtest_strategy

    for folder, symbol, timeframe in _recordings():
        request = MarketRequest(spec=str(MARKETS / folder), symbol=symbol, timeframe=timeframe)
        _, series = open_market(request)
        other = "ETH/USDT" if symbol != "ETH/USDT" else "BTC/USDT"
        _, partner = open_market(request.model_copy(update={"symbol": other}))
        for name, strategy in sorted(STRATEGIES.items()):
            aligned = align_partner(series, partner) if strategy.needs_partner else None
            report = backtest_strategy(
                name, series, partner=aligned, timeframe_seconds=timeframe_seconds(timeframe)
            )
            assert report.candles == len(series), (name, folder)
            assert report.metrics.max_drawdown <= 1.0, (name, folder)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--strategy", "nope"], ("no strategy named 'nope'", "--list")),
        (["--strategy", "ma_crossover", "--param", "fast"], ("NAME=VALUE",)),
        (["--strategy", "ma_crossover", "--param", "fast=1"], ("fast", "greater than or equal")),
        (["--strategy", "ma_crossover", "--param", "fast=30", "--param", "slow=20"], ("slow",)),
        (["--strategy", "ma_crossover", "--param", "speed=3"], ("speed is not a parameter",)),
        (["--strategy", "pairs"], ("--partner",)),
        (["--strategy", "bollinger", "--partner", "ETH/USDT"], ("drop --partner",)),
        ([], ("--strategy NAME", "--list")),
    ],
)
def test_a_mistake_gets_one_line_and_exit_2(args, fragments):
    ran = tradegraph("backtest", "--market", "synthetic:4", "--bars", "300", *args)

    assert_one_line_error(ran, *fragments)


def test_a_walk_forward_reports_every_fold_and_the_gap_and_writes_it(tmp_path):
    ran = tradegraph(
        "backtest", "--strategy", "ma_crossover", "--market", "synthetic:6", "--bars", "3000",
        "--grid", "fast=5,10,20", "--grid", "slow=40,80", "--walk-forward",
        "--in-sample", "900", "--out-of-sample", "300", "--json", str(tmp_path / "wf.json"),
        "--out", str(tmp_path / "report"), env={"COLUMNS": "160"},
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr
    assert "Walk-forward · ma_crossover · 6 grid points" in ran.stdout
    assert "the gap (overfitting)" in ran.stdout
    result = json.loads((tmp_path / "wf.json").read_text())
    assert len(result["folds"]) == (3000 - 900) // 300
    assert result["overfitting_gap"] == pytest.approx(
        result["mean_in_sample_score"] - result["mean_out_of_sample_score"]
    )
    assert "buy_and_hold_out_of_sample_return" in result
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Walk-forward" in page and "OOS sharpe" in page


def test_a_grid_search_ranks_its_points_and_says_it_is_in_sample(tmp_path):
    ran = tradegraph(
        "backtest", "--strategy", "bollinger", "--market", "synthetic:6", "--bars", "2000",
        "--grid", "period=10,20,40", "--param", "nbdev=2", "--json", str(tmp_path / "g.json"),
        env={"COLUMNS": "160"},
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr
    assert "Grid search · bollinger · 3 points" in ran.stdout
    assert "In-sample only" in ran.stdout
    ranked = json.loads((tmp_path / "g.json").read_text())["grid"]["points"]
    scores = [p["score"] for p in ranked]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--grid", "fast"], ("NAME=A,B,C",)),
        (["--grid", "speed=1,2"], ("speed",)),
        (["--grid", "fast=1,5"], ("fast",)),
        (
            [
                "--grid",
                "fast=5,10",
                "--walk-forward",
                "--in-sample",
                "250",
                "--out-of-sample",
                "100",
            ],
            ("more than the 300 candles",),
        ),
    ],
)
def test_a_grid_mistake_gets_one_line_and_exit_2(args, fragments):
    ran = tradegraph(
        "backtest", "--strategy", "ma_crossover", "--market", "synthetic:4", "--bars", "300", *args
    )

    assert_one_line_error(ran, *fragments)
