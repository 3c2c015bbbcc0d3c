"""One buy-and-hold: the run summary's, the eval baseline's and the quick backtest's are one
number for the same candles (they used to differ)."""

import json

import pytest

from core.market.recorded import load_recorded
from core.market.series import CandleSeries
from core.market.synthetic import generate_synthetic
from evals.baselines import Costs, buy_and_hold
from tests.cli import tradegraph
from tests.conftest import needs_shared
from tests.support import BTC_2023, history_of
from tools.backtest import Hypothesis, quick_backtest
from tools.metrics import buy_and_hold_return

COSTS = Costs(initial_cash=10_000.0, fee_rate=0.001, slippage_bps=5.0)


def _summary_return(series: CandleSeries, costs: Costs) -> float:
    return buy_and_hold_return(
        series.open,
        series.close,
        fee_rate=costs.fee_rate,
        slippage_bps=costs.slippage_bps,
        initial_cash=costs.initial_cash,
    )


def _baseline_return(series: CandleSeries, costs: Costs) -> float:
    return buy_and_hold(series, costs).metrics(period_seconds=3_600.0).total_return


@pytest.mark.parametrize("seed", [5, 42])
def test_summary_and_baseline_buy_and_hold_are_the_same_on_a_synthetic_market(seed: int):
    series = generate_synthetic(seed, bars=3_000)

    summary, baseline = _summary_return(series, COSTS), _baseline_return(series, COSTS)

    assert summary != 0.0
    assert summary == baseline  # to the last bit: one definition, not two that agree


@needs_shared
def test_summary_and_baseline_buy_and_hold_are_the_same_on_a_recorded_market():
    series = load_recorded(BTC_2023)

    summary, baseline = _summary_return(series, COSTS), _baseline_return(series, COSTS)

    assert len(series) > 8_000
    assert summary == baseline
    assert summary == pytest.approx(1.5542, abs=1e-4)  # BTC's 2023: about +155%


def test_buy_and_hold_with_costs_earns_less_than_the_price_moved():
    series = generate_synthetic(7, bars=500)
    free = Costs(initial_cash=10_000.0, fee_rate=0.0, slippage_bps=0.0)

    costly, costless = _summary_return(series, COSTS), _summary_return(series, free)

    moved = float(series.close[-1] / series.open[1] - 1.0)
    assert costless == pytest.approx(moved, abs=1e-9)
    assert costly < costless


def test_the_quick_backtest_reports_the_same_buy_and_hold():
    series = generate_synthetic(5, bars=1_500)
    hypothesis = Hypothesis(rule="ema_cross", lookback_bars=1_000)

    result = quick_backtest(history_of(series), hypothesis)

    window = series.window(len(series) - 1_000, len(series))
    assert result.buy_and_hold_return == round(_summary_return(window, COSTS), 6)


def _run_and_eval(tmp_path, *market: str) -> tuple[dict, dict]:
    run_json = tmp_path / "run.json"
    ran = tradegraph(
        "run", *market, "--json", str(run_json), "--data-dir", str(tmp_path / "run"), "-q"
    )
    assert ran.returncode == 0, ran.stderr
    evaluated = tradegraph("eval", *market, "--out", str(tmp_path / "eval"), "--quiet")
    assert evaluated.returncode == 0, evaluated.stderr
    summary = json.loads(run_json.read_text())
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    return summary, report


@pytest.mark.slow
def test_run_and_eval_report_the_same_buy_and_hold_on_a_synthetic_market(tmp_path):
    summary, report = _run_and_eval(tmp_path, "--market", "synthetic:5", "--bars", "200")

    assert report["market"]["bars"] == summary["bars"] == 200
    assert summary["buy_and_hold_return"] != 0.0
    assert summary["buy_and_hold_return"] == report["baselines"]["buy_and_hold"]["total_return"]


@pytest.mark.slow
@needs_shared
def test_run_and_eval_report_the_same_buy_and_hold_on_a_recorded_market(tmp_path):
    window = ("--market", str(BTC_2023), "--from", "2023-03-01", "--to", "2023-03-10")

    summary, report = _run_and_eval(tmp_path, *window)

    assert report["market"]["bars"] == summary["bars"] > 200
    assert summary["buy_and_hold_return"] == report["baselines"]["buy_and_hold"]["total_return"]
