"""The live guard and the exchange broker's bad inputs, from the command line: each refusal is
one line and exit 2, and a refused live run never opens a socket (run with networking blocked)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live_binance import settings_for, tradegraph_command

LIVE = ["run", "--market", "exchange:binance", "--symbol", "BTC/USDT", "--timeframe", "1m"]
KEYS = {"TRADEGRAPH_EXECUTION__API_KEY": "k-123", "TRADEGRAPH_EXECUTION__API_SECRET": "s-456"}


def _networking_blocked() -> list[str]:
    """`unshare -rn`: a private network namespace with no interface up, so any connection
    fails; skipped where this machine does not allow one."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed: cannot block networking")
    for prefix in ([unshare, "-n"], [unshare, "-rn"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    pytest.skip("this machine does not allow a private network namespace (unshare -n)")


def _tradegraph(args, tmp_path: Path, env: dict[str, str], prefix=()) -> tuple[int, str]:
    done = subprocess.run(
        [*prefix, *tradegraph_command(args)], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env={**os.environ, "HOME": str(tmp_path), **env},
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("env", "flag", "missing"),
    [
        ({}, [], 'execution.mode = "live" in the settings and --i-understand-live-trading'),
        ({"TRADEGRAPH_EXECUTION__MODE": "live"}, [], "--i-understand-live-trading on the"),
        ({}, ["--i-understand-live-trading"], 'needs execution.mode = "live" in the settings'),
    ],
    ids=["neither", "settings-only", "flag-only"],
)
def test_live_run_refused_without_both_confirmations_before_any_socket(
    tmp_path, env, flag, missing
):
    blocked = _networking_blocked()

    code, out = _tradegraph(
        [*LIVE, "--broker", "live", *flag], tmp_path, {**KEYS, **env}, prefix=blocked
    )

    assert code == 2, out
    assert "live trading refused" in out and missing in out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1


def test_sandbox_without_keys_is_one_line(tmp_path):
    code, out = _tradegraph([*LIVE, "--broker", "sandbox"], tmp_path, {}, _networking_blocked())

    assert code == 2
    assert out.strip() == (
        "error: sandbox trading needs exchange keys: set TRADEGRAPH_EXECUTION__API_KEY and "
        "TRADEGRAPH_EXECUTION__API_SECRET"
    )


def test_sandbox_on_a_replayed_market_is_one_line(tmp_path):
    code, out = _tradegraph(
        ["run", "--market", "synthetic:5", "--bars", "50", "--broker", "sandbox"], tmp_path, KEYS
    )

    assert code == 2
    assert "--broker sandbox trades on the exchange as candles close" in out
    assert len(out.strip().splitlines()) == 1


def test_sandbox_on_another_exchange_than_the_market_is_one_line(tmp_path):
    market = ["--market", "exchange:okx", "--symbol", "BTC/USDT", "--timeframe", "1m"]

    code, out = _tradegraph(["run", *market, "--broker", "sandbox"], tmp_path, KEYS)

    assert code == 2
    assert "trades on binance (execution.exchange) but the market is read from okx" in out
    assert len(out.strip().splitlines()) == 1


def test_unknown_exchange_is_one_line(tmp_path):
    code, out = _tradegraph(
        ["run", "--market", "exchange:binanse", "--symbol", "BTC/USDT", "--timeframe", "1m"],
        tmp_path,
        {},
    )

    assert code == 2
    assert "binanse" in out and "binance" in out
    assert len(out.strip().splitlines()) == 1


def test_unknown_symbol_on_the_exchange_is_one_line(fake_binance, tmp_path):
    args = [*LIVE[:4], "NOPE/USDT", *LIVE[5:], "--broker", "sandbox"]

    code, out = _tradegraph(args, tmp_path, settings_for(fake_binance))

    assert code == 2, out
    assert "NOPE/USDT" in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1
    assert not any(r.path == "/api/v3/order" for r in fake_binance.requests)
