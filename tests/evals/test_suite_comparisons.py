"""A suite's configurations against its control: per market and pooled, in suite.json, in
suite.html's forest plot, and one line for a comparison that cannot be made."""

import json

import numpy as np
import pytest

from core.errors import UserError
from evals.suite import load_suite
from evals.suite_compare import compare_configs
from evals.suite_html import render_suite_html

HOUR_MS = 3_600_000


def _report(returns, *, bars=None, partial=False):
    equity = list(10_000 * np.cumprod(1 + np.asarray(returns)))
    n = len(equity)
    return {
        "partial": partial,
        "market": {
            "symbol": "BTC/USDT",
            "timeframe": "1h",
            "first": "2023-01-01T00:00:00Z",
            "last": "x",
            "bars": bars or n,
        },
        "series": {
            "initial": 10_000.0,
            "times_ms": [HOUR_MS * (i + 1) for i in range(n)],
            "agent": equity,
            "exposure": [0.0] * n,
        },
    }


def _row(market, config, report=None, error=None):
    row = {"market": market, "config": config, "label": f"{market}/{config}"}
    if error is not None:
        return {**row, "error": error}
    return {**row, "report": report}


def _rows():
    rng = np.random.default_rng(1)
    rows = []
    for market in ("m1", "m2", "m3"):
        base = rng.normal(0.0, 0.01, 800)
        rows.append(_row(market, "control", _report(base)))
        rows.append(_row(market, "edge", _report(base + 0.003)))
        rows.append(_row(market, "same", _report(base)))
    return rows


def test_each_configuration_is_compared_with_the_control_per_market_and_pooled():
    comparisons = compare_configs(_rows(), ("control", "edge", "same"), "control")

    assert [(c.control, c.candidate) for c in comparisons] == [
        ("control", "edge"), ("control", "same")
    ]  # fmt: skip
    edge, same = comparisons
    assert [m.market for m in edge.markets] == ["m1", "m2", "m3"]
    assert edge.pooled is not None and edge.pooled.candles == 2_400
    assert {r.verdict.value for r in edge.pooled.metrics} == {"better"}
    assert same.pooled is not None
    assert {r.verdict.value for r in same.pooled.metrics} == {"no detectable difference"}


def test_a_failed_or_partial_job_leaves_its_market_out_with_the_reason():
    rows = [r for r in _rows() if not (r["market"] == "m2" and r["config"] == "edge")]
    rows.append(_row("m2", "edge", error="boom"))
    rows = [r for r in rows if not (r["market"] == "m3" and r["config"] == "same")]
    rows.append(_row("m3", "same", _report(np.zeros(800), partial=True)))

    edge, same = compare_configs(rows, ("control", "edge", "same"), "control")

    assert [m.market for m in edge.markets] == ["m1", "m3"]
    assert edge.skipped == ("m2: edge failed",)
    assert same.skipped == ("m3: same is partial",)


def test_the_suite_page_holds_a_forest_plot_and_the_table():
    comparisons = compare_configs(_rows(), ("control", "edge", "same"), "control")
    combined = {"suite": "s", "partial": False, "rows": [], "aggregate": {},
                "comparisons": [c.model_dump(mode="json") for c in comparisons]}  # fmt: skip

    page = render_suite_html(combined)

    assert "Paired comparisons" in page
    assert page.count("Plotly.newPlot") == 2
    assert page.lower().count("plotly.js v") == 1  # the bundle inline, once
    assert '<script src="http' not in page
    assert "edge against control" in page and "pooled" in page


SUITE = """
[suite]
name = "s"
{extra}
[[markets]]
market = "synthetic:3"
{configs}
"""
TWO = '[[configs]]\nname = "a"\n[[configs]]\nname = "b"\nmemory = "off"\n'


def _suite(tmp_path, extra="", configs=TWO):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(extra=extra, configs=configs))
    return load_suite(path)


def test_the_first_configuration_is_the_control_by_default(tmp_path):
    assert _suite(tmp_path).control == "a"
    assert _suite(tmp_path, 'control = "b"').control == "b"
    assert _suite(tmp_path, "compare = false").control is None
    assert _suite(tmp_path, configs='[[configs]]\nname = "a"\n').control is None


@pytest.mark.parametrize(
    ("extra", "configs", "fragment"),
    [
        ("compare = true", '[[configs]]\nname = "a"\n', "a comparison needs at least two"),
        ("compare = true", "", "a comparison needs at least two"),
        ('control = "c"', TWO, "suite.control 'c' names no configuration"),
        ('compare = "yes"', TWO, "suite.compare must be true or false"),
    ],
)
def test_a_comparison_that_cannot_be_made_is_one_clear_error(tmp_path, extra, configs, fragment):
    with pytest.raises(UserError, match=fragment):
        _suite(tmp_path, extra, configs)


@pytest.mark.slow
def test_a_suite_run_reports_its_comparisons_in_words_and_in_suite_json(tmp_path):
    from tests.cli import tradegraph

    path = tmp_path / "suite.toml"
    path.write_text(
        SUITE.format(extra="workers = 2\n[defaults]\nbars = 400", configs=TWO)
        + '[[markets]]\nmarket = "synthetic:4"\n'
    )
    out = tmp_path / "out"

    result = tradegraph("eval", "--suite", str(path), "--out", str(out), "--quiet")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "b against a, pooled over 2 markets:" in result.stdout
    assert "95% interval" in result.stdout
    combined = json.loads((out / "suite.json").read_text())
    (comparison,) = combined["comparisons"]
    assert [m["market"] for m in comparison["markets"]] == ["synthetic_3", "synthetic_4"]
    assert comparison["pooled"]["market"] == "pooled"
    assert all("series" not in row["report"] for row in combined["rows"])
    job = json.loads((out / "synthetic_3" / "a" / "report.json").read_text())
    assert len(job["series"]["agent"]) == 400
