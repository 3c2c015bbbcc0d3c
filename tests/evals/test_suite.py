"""Suites: many markets x configurations on local processes, one combined report."""

import json

import pytest

from core.errors import UserError
from evals.suite import load_suite
from tests.cli import assert_one_line_error, tradegraph

SUITE = """
[suite]
name = "smoke"
workers = 2

[defaults]
bars = 300

[[markets]]
market = "synthetic:3"

[[markets]]
market = "synthetic:4"
timeframe = "4h"

[[configs]]
name = "default"

[[configs]]
name = "tight"
memory = "off"
settings = { risk = { max_position_fraction = 0.2 } }
"""


def test_a_suite_crosses_markets_with_configurations(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)

    suite = load_suite(path)

    assert suite.name == "smoke" and suite.workers == 2
    assert [j.label for j in suite.jobs] == [
        "synthetic_3/default", "synthetic_3/tight", "synthetic_4-4h/default", "synthetic_4-4h/tight"
    ]  # fmt: skip
    assert suite.jobs[1].options["memory"] == "off" and suite.jobs[1].options["bars"] == 300
    assert suite.jobs[1].overrides == (("risk", {"max_position_fraction": 0.2}),)


def test_relative_market_paths_are_read_from_the_suite_folder(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text('[[markets]]\nmarket = "data/BTC_USDT-1h.csv.gz"\n')

    (job,) = load_suite(path).jobs

    assert job.options["market"] == str(tmp_path / "data" / "BTC_USDT-1h.csv.gz")
    assert job.label == "BTC_USDT-1h/default"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[markets]\n", "not valid TOML"),
        ("[suite]\nname = 'x'\n", "lists no [[markets]]"),
        ("[[markets]]\nsymbol = 'BTC/USDT'\n", "has no `market`"),
        ("[[markets]]\nmarket = 'synthetic:1'\nleverage = 5\n", "unknown option 'leverage'"),
        ("[suite]\nworkers = 0\n[[markets]]\nmarket = 'synthetic:1'\n", "at least 1"),
        ("[[markets]]\nmarket = 'synthetic:1'\n[[markets]]\nmarket = 'synthetic:1'\n", "twice"),
    ],
)
def test_a_broken_suite_file_is_one_clear_error(tmp_path, text, fragment):
    path = tmp_path / "suite.toml"
    path.write_text(text)

    with pytest.raises(UserError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        load_suite(path)


@pytest.mark.slow
def test_the_suite_runs_in_parallel_and_writes_one_combined_report(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    out = tmp_path / "out"

    result = tradegraph("eval", "--suite", str(path), "--out", str(out), "--quiet")

    assert result.returncode == 0, result.stdout + result.stderr
    combined = json.loads((out / "suite.json").read_text())
    assert combined["partial"] is False and len(combined["rows"]) == 4
    assert set(combined["aggregate"]) == {"default", "tight"}
    assert all(a["markets"] == 2 and a["violations"] == 0 for a in combined["aggregate"].values())
    for row in combined["rows"]:
        assert (out / row["label"] / "report.json").is_file()
    assert "synthetic_4-4h/tight/report.html" in (out / "suite.html").read_text()
    (comparison,) = combined["comparisons"]
    assert (comparison["control"], comparison["candidate"]) == ("default", "tight")
    assert len(comparison["markets"]) == 2


def test_a_missing_suite_file_is_one_line(tmp_path):
    result = tradegraph("eval", "--suite", str(tmp_path / "nope.toml"))

    assert_one_line_error(result, "nope.toml not found")


def test_suite_and_market_together_is_one_line(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)

    result = tradegraph("eval", "--suite", str(path), "--market", "synthetic:1")

    assert_one_line_error(result, "drop --market")


def test_suite_values_are_read_as_a_user_writes_them(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(
        "[[markets]]\nmarket = 'synthetic:1'\nfrom = 2024-01-01\nmemory = true\n"
        "[[markets]]\nmarket = 'synthetic:1'\nfrom = 2024-02-01\nmemory = false\n"
    )

    first, second = load_suite(path).jobs

    assert first.options["from"] == "2024-01-01" and first.options["memory"] == "on"
    assert second.options["memory"] == "off"
    assert first.label != second.label  # the same market in two windows


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[markets]]\nmarket = 'synthetic:1'\n[[configs]]\nname = '../../x'\n", "may hold only"),
        ("[[markets]]\nmarket = 'synthetic:1'\n[[configs]]\nname = 'a'\n"
         "settings = { risk = 0.3 }\n", "must hold tables"),
        ("[[markets]]\nmarket = 'synthetic:1'\nmemory = 'maybe'\n", "on or off"),
        ("[[markets]]\nmarket = 'synthetic:1'\nbars = 0\n", "at least 1"),
    ],
)  # fmt: skip
def test_suite_values_that_cannot_work_are_refused(tmp_path, text, fragment):
    path = tmp_path / "suite.toml"
    path.write_text(text)

    with pytest.raises(UserError, match=fragment):
        load_suite(path)


def test_settings_overrides_merge_table_by_table():
    from core.settings import Settings
    from graphs.assembly import with_overrides

    base = Settings(anthropic={"budget": {"day_usd": 3.0}})

    changed = with_overrides(base, (("anthropic", {"budget": {"run_usd": 1.0}}),))

    assert changed.anthropic.budget.run_usd == 1.0
    assert changed.anthropic.budget.day_usd == 3.0


def test_suite_refuses_options_it_would_ignore(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)

    result = tradegraph("eval", "--suite", str(path), "--analyst", "anthropic")

    assert_one_line_error(result, "drop --analyst")
