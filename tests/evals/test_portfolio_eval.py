"""Evaluating a portfolio: several symbols on one account, measured against the equal-weight
baselines, in a single evaluation and in suites."""

import json

import pytest

from evals.suite import load_suite
from tests.cli import tradegraph
from tests.conftest import SHARED, needs_shared

DEV = SHARED / "markets" / "binance-2020-09_2021-10"


@needs_shared
@pytest.mark.slow
def test_a_portfolio_evaluation_reports_against_the_equal_weight_baselines(tmp_path):
    result = tradegraph(
        "eval", "--market", str(DEV), "--symbol", "BTC/USDT,ETH/USDT", "--timeframe", "4h",
        "--bars", "400", "--out", str(tmp_path), "--quiet",
    )  # fmt: skip
    single = [
        tradegraph("eval", "--market", str(DEV), "--symbol", symbol, "--timeframe", "4h",
                   "--bars", "400", "--out", str(tmp_path / symbol.replace("/", "_")), "--quiet")
        for symbol in ("BTC/USDT", "ETH/USDT")
    ]  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    alone = [
        json.loads((tmp_path / s / "report.json").read_text())["baselines"]["buy_and_hold"]
        for s in ("BTC_USDT", "ETH_USDT")
    ]
    assert all(r.returncode == 0 for r in single)
    assert report["market"]["symbol"] == "BTC/USDT,ETH/USDT"
    assert report["market"]["bars"] == 400  # candle closes, not cycles
    hold = report["baselines"]["buy_and_hold"]["total_return"]
    assert hold == pytest.approx((alone[0]["total_return"] + alone[1]["total_return"]) / 2)
    assert report["risk"]["violations"] == 0


def test_a_suite_market_may_be_a_portfolio(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(
        '[suite]\nname = "p"\n[[markets]]\nmarket = "synthetic:3"\n'
        'symbol = ["SYN/USDT"]\n[[markets]]\nmarket = "synthetic:4"\nsymbol = "A/USDT,B/USDT"\n'
    )

    suite = load_suite(path)

    assert [j.options["symbol"] for j in suite.jobs] == ["SYN/USDT", "A/USDT,B/USDT"]
