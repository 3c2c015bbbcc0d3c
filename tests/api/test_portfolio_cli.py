"""`tradegraph portfolio optimize` on a real recording, as a user runs it."""

import json

import pytest

from tests.cli import assert_one_line_error, tradegraph
from tests.conftest import SHARED, needs_shared

RECORDING = str(SHARED / "markets" / "binance-2020-09_2021-10")
FIVE = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"]
WIDE = {"COLUMNS": "160"}


def optimize(*args: str, cwd=None, env=None):
    return tradegraph("portfolio", "optimize", "--market", RECORDING, *args, cwd=cwd, env=env)


@needs_shared
def test_hrp_prints_each_weight_and_risk_share_and_writes_the_result(tmp_path):
    out = tmp_path / "portfolio.json"

    result = optimize(
        "--symbols", ",".join(FIVE), "--method", "hrp", "--timeframe", "4h",
        "--from", "2021-01-01", "--to", "2021-06-30", "--json", str(out),
        cwd=tmp_path, env=WIDE,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    written = json.loads(out.read_text())
    assert list(written["weights"]) == FIVE
    assert sum(written["weights"].values()) == pytest.approx(1.0)
    assert written["method"] == "hrp"
    assert written["caps"]["max_weight"] == 0.5
    assert (written["first"], written["last"]) == ("2021-01-01T00:00:00Z", "2021-06-30T20:00:00Z")
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    for symbol in FIVE:
        weight = written["weights"][symbol]
        share = written["risk_contributions"][symbol]
        assert f"{weight:.2%}" in rows[symbol] and f"{share:.2%}" in rows[symbol]
    assert "Risk contribution" in result.stdout
    assert "cash" in rows
    assert "Sharpe" in result.stdout and "ledoit_wolf" in result.stdout


@needs_shared
def test_the_settings_caps_bind_and_the_rest_is_cash(tmp_path):
    (tmp_path / "tradegraph.toml").write_text("[risk]\nmax_position_fraction = 0.2\n")
    out = tmp_path / "portfolio.json"

    result = optimize(
        "--symbols", "BTC/USDT,ETH/USDT,SOL/USDT", "--method", "min_variance",
        "--timeframe", "1d", "--json", str(out), cwd=tmp_path, env=WIDE,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    written = json.loads(out.read_text())
    assert list(written["weights"].values()) == pytest.approx([0.2, 0.2, 0.2])
    assert written["cash"] == pytest.approx(0.4)
    assert "infeasible to invest 100%" in written["note"]
    assert "infeasible to invest 100%" in result.stdout


@needs_shared
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--symbols", "BTC/USDT,ETH/USDT", "--method", "equal"], "unknown --method 'equal'"),
        (["--symbols", "BTC/USDT,DOGE/USDT", "--method", "hrp"], "no DOGE/USDT 1h in"),
        (["--symbols", "BTC/USDT", "--method", "hrp"], "at least 2 symbols, got 1"),
        (
            ["--symbols", "BTC/USDT,ETH/USDT", "--method", "hrp", "--from", "2021-03-01",
             "--to", "2021-03-01"],
            "only 24 candles are common to BTC/USDT, ETH/USDT",
        ),
        (
            ["--symbols", "BTC/USDT,ETH/USDT", "--method", "hrp", "--lookback", "5"],
            "--lookback: Input should be greater than or equal to 31",
        ),
        (
            ["--symbols", "BTC/USDT,ETH/USDT", "--method", "mean_variance",
             "--risk-aversion", "0"],
            "--risk-aversion: Input should be greater than 0",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, fragment):
    result = optimize(*args, "--timeframe", "1h", cwd=tmp_path)

    assert_one_line_error(result, fragment)
    assert result.stdout == ""


def test_a_symbol_list_is_required(tmp_path):
    result = tradegraph("portfolio", "optimize", "--market", str(tmp_path), "--method", "hrp")

    assert_one_line_error(result, "Missing option '--symbols'")
