"""`tradegraph eval --compare A B` as a user runs it: a table with intervals and verdicts,
comparison.json and .html kept with --out, and one line for reports that do not pair."""

import json

import pytest

from tests.cli import assert_one_line_error, tradegraph

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("compare-cli")]


def _eval(out, *args):
    result = tradegraph("eval", "--market", "synthetic:7", *args, "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    control = _eval(root / "memory-off", "--bars", "800", "--memory", "off")
    candidate = _eval(root / "memory-on", "--bars", "800", "--memory", "on")
    return root, control, candidate


def test_compare_prints_every_metric_with_an_interval_and_a_verdict(reports):
    _, control, candidate = reports

    result = tradegraph("eval", "--compare", str(control), str(candidate / "report.json"))

    assert result.returncode == 0, result.stderr
    for label in ("total return", "Sharpe", "Sortino", "max drawdown"):
        assert label in result.stdout
    assert "memory-on against memory-off" in result.stdout
    assert "2,000 stationary-bootstrap resamples of 800 paired candle returns" in result.stdout


def test_compare_keeps_its_numbers_and_a_self_contained_page_with_out(reports):
    root, control, candidate = reports
    out = root / "comparison"

    result = tradegraph("eval", "--compare", str(control), str(candidate), "--out", str(out))

    assert result.returncode == 0, result.stderr
    data = json.loads((out / "comparison.json").read_text())
    rows = {row["metric"]: row for row in data["comparison"]["metrics"]}
    assert set(rows) == {"total_return", "sharpe", "sortino", "max_drawdown"}
    off = json.loads((control / "report.json").read_text())["metrics"]
    on = json.loads((candidate / "report.json").read_text())["metrics"]
    for metric, row in rows.items():
        assert row["control"] == pytest.approx(off[metric], rel=1e-9, abs=1e-12)
        assert row["candidate"] == pytest.approx(on[metric], rel=1e-9, abs=1e-12)
        assert row["low"] <= row["difference"] <= row["high"] or row["verdict"] != (
            "no detectable difference"
        )
    page = (out / "comparison.html").read_text()
    assert "plotly" in page.lower()
    assert '<script src="http' not in page
    assert "memory-on" in page


def test_compare_is_reproducible(reports):
    _, control, candidate = reports

    first = tradegraph("eval", "--compare", str(control), str(candidate))
    again = tradegraph("eval", "--compare", str(control), str(candidate))

    assert first.stdout == again.stdout


def test_reports_of_different_windows_are_refused_in_one_line(reports):
    root, control, _ = reports
    shorter = _eval(root / "shorter", "--bars", "500", "--memory", "off")

    result = tradegraph("eval", "--compare", str(control), str(shorter))

    assert_one_line_error(result, "not of the same market and window", "bars")


def test_a_report_without_an_equity_series_is_refused_in_one_line(reports, tmp_path):
    _, control, _ = reports
    old = json.loads((control / "report.json").read_text())
    del old["series"]
    (tmp_path / "report.json").write_text(json.dumps(old))

    result = tradegraph("eval", "--compare", str(control), str(tmp_path))

    assert_one_line_error(result, "no equity series", "run that evaluation again")


def test_a_missing_report_is_one_line(tmp_path):
    result = tradegraph("eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b"))

    assert_one_line_error(result, "not found")


def test_compare_takes_no_replay_options(tmp_path):
    result = tradegraph("eval", "--compare", "a", "b", "--bars", "10")

    assert_one_line_error(result, "--compare reads two finished reports", "--bars")


def test_a_window_under_30_days_is_compared_without_sharpe_and_sortino(reports):
    root, _, _ = reports
    a = _eval(root / "short-off", "--bars", "300", "--memory", "off")
    b = _eval(root / "short-on", "--bars", "300", "--memory", "on")

    result = tradegraph("eval", "--compare", str(a), str(b))

    assert result.returncode == 0, result.stderr
    assert "total return" in result.stdout and "max drawdown" in result.stdout
    assert "Sharpe and Sortino left out: the window is shorter than 30 days" in result.stdout
    assert "│ Sharpe" not in result.stdout
