"""`tradegraph run` in real time against a fake Binance on 127.0.0.1: paper and sandbox brokers,
Ctrl-C, the ledger against the exchange's own trades, and keys that never leave the process.

The fake reveals 1s candles by the wall clock, so a run decides once a second; a plugin analyst
that buys when flat and sells when holding makes every cycle send an order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from core.ledger import Ledger
from tests import zygote
from tests.fake_exchange.realtime import play_in_real_time
from tests.live_binance import DECISION, run_until_decisions, settings_for, tradegraph_command

ROOT = Path(__file__).resolve().parents[2]
FLIP_FLOP = "tests.plugins.flip_flop:FlipFlopAnalyst"
LIVE_SANDBOX = [
    "run", "--market", "exchange:binance", "--symbol", "BTC/USDT", "--timeframe", "1s",
    "--broker", "sandbox", "--analyst", FLIP_FLOP,
]  # fmt: skip


@pytest.fixture
def live_fake(fake_binance):
    candles = play_in_real_time(fake_binance, "BTC/USDT", interval="1s")
    yield fake_binance
    candles.stop()


def _env(fake, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **settings_for(fake), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}


def _run(args, env, cwd: Path, decisions: int, capsys) -> tuple[int, str]:
    code = run_until_decisions(args, env, decisions, cwd)
    return code, capsys.readouterr().out


def _exchange_fills(fake) -> dict[str, Decimal]:
    """Base quantity the account gained or gave per client order id: a buy's fee charged in
    the base coin (as Binance does without BNB) is not held, so the ledger counts it off."""
    by_order = {o.order_id: o.client_id for o in fake.book.orders.values()}
    traded: dict[str, Decimal] = defaultdict(Decimal)
    for trade in fake.book.trades:
        fee_in_base = trade.commission if trade.commission_asset == "BTC" else Decimal(0)
        traded[by_order[trade.order_id]] += trade.qty - fee_in_base
    return dict(traded)


def _ledger_fills(data_dir: Path) -> dict[str, Decimal]:
    ledger = Ledger(data_dir / "ledger.sqlite", "sandbox:binance", 10_000.0)
    try:
        recorded: dict[str, Decimal] = defaultdict(Decimal)
        for fill in ledger.fills():
            if not fill.client_order_id.startswith("rc-"):
                recorded[fill.client_order_id] += Decimal(str(fill.quantity))
        return dict(recorded)
    finally:
        ledger.close()


def test_paper_run_decides_at_every_close_until_ctrl_c(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "live_binance.py"), *LIVE_SANDBOX[:7],
         "--broker", "paper"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "LIVE_BINANCE_DECISIONS": "4"},
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    decisions = [line for line in result.stdout.splitlines() if DECISION.match(line)]
    assert len(decisions) >= 4
    assert "in real time · broker paper" in " ".join(result.stdout.split())
    assert "Traces:" in result.stdout


def test_sandbox_run_orders_once_each_and_its_ledger_matches_the_exchange(
    live_fake, tmp_path, capsys
):
    env = _env(live_fake, tmp_path)

    code, out = _run([*LIVE_SANDBOX, "--json", "summary.json"], env, tmp_path, 6, capsys)

    assert code == 0, out
    sent = Counter(live_fake.client_order_ids())
    assert sent and max(sent.values()) == 1, sent
    assert "approved" in out
    traded = _exchange_fills(live_fake)
    assert traded and _ledger_fills(tmp_path / ".tradegraph") == traded
    verify = subprocess.run(
        tradegraph_command(["audit", "verify"]), cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_exchange_keys_reach_no_trace_ledger_log_or_report(live_fake, tmp_path, capsys):
    env = _env(live_fake, tmp_path)

    code, out = _run([*LIVE_SANDBOX, "--json", "summary.json"], env, tmp_path, 4, capsys)

    assert code == 0, out
    secrets = [live_fake.secret.encode(), live_fake.api_key.encode()]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "ledger.sqlite" for p in written)
    assert any(p.name == "summary.json" for p in written)
    leaks = [p for p in written for s in secrets if s in p.read_bytes()]
    assert leaks == []
    assert not any(s.decode() in out for s in secrets)


def _kill_while_trading(child, fake, rng) -> None:
    """SIGKILL at a random moment up to a second after the run's next order reaches the
    exchange: timed from the run's own progress, not from its start, so that on a busy machine
    (where a run takes seconds to open its stores) the kills still land in the trading."""
    before = len(fake.client_order_ids())
    deadline = time.monotonic() + 60
    while len(fake.client_order_ids()) == before and child.poll() is None:
        assert time.monotonic() < deadline, "the run sent no order within a minute"
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 1.0))
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    child.wait()


@pytest.mark.slow
def test_fifty_kills_never_double_an_order_and_leave_the_ledger_equal_to_the_exchange(
    live_fake, tmp_path
):
    """SIGKILL at a random moment of a sandbox run, 50 times, restarting on the same account."""
    import random

    env = _env(live_fake, tmp_path)
    rng = random.Random(17)
    for _ in range(50):
        with open(os.devnull, "w") as out, open(tmp_path / "stderr.txt", "w") as errors:
            child = zygote.start(
                LIVE_SANDBOX, env=env, cwd=tmp_path, stdout=out.fileno(), stderr=errors.fileno()
            )
        _kill_while_trading(child, live_fake, rng)
        assert child.returncode == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()

    sent = Counter(live_fake.client_order_ids())
    assert len(sent) >= 50 and max(sent.values()) == 1, sent
    assert run_until_decisions(LIVE_SANDBOX, env, 2, tmp_path) == 0  # reconciles what was left
    assert _ledger_fills(tmp_path / ".tradegraph") == _exchange_fills(live_fake)
    verify = subprocess.run(
        tradegraph_command(["audit", "verify"]), cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    verdicts = verify.stdout + verify.stderr
    # A run killed mid-write is reported INTERRUPTED or INCOMPLETE (what it lacks, not an edit);
    # none may be reported altered.
    assert "BROKEN" not in verdicts and "altered" not in verdicts, verdicts
    assert verdicts.count("chain intact") >= 10, verdicts
