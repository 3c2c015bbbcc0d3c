"""An agent is the same node as a replay: woken by its scheduler on a recorded market played
fast, it makes exactly the decisions `tradegraph eval` makes on the same candles."""

from __future__ import annotations

import json

import pytest

from evals.report import decision_digest
from tests.cli import tradegraph
from tests.conftest import SHARED, needs_shared
from tests.support import stored_traces

RECORDING = SHARED / "markets" / "binance-2023"
CANDLES = "200"
SPEEDS = ("14400", "7200", "3600")
"""A candle every 250 ms; if a close was missed, every 500 ms, then every second (a machine
busy with other tests can starve the agent's process for a moment)."""


@needs_shared
@pytest.mark.slow
def test_an_agent_on_a_played_recording_decides_as_eval_does_on_the_same_candles(tmp_path):
    window = ("--market", str(RECORDING), "--symbol", "BTC/USDT", "--timeframe", "1h",
              "--bars", CANDLES, "--analyst", "stress")  # fmt: skip
    evaluated = tradegraph("eval", *window, "--out", str(tmp_path / "eval"),
                           "--data-dir", str(tmp_path / "eval-data"), "--quiet")  # fmt: skip
    for speed in SPEEDS:  # a busy machine can miss a close: then slower
        data = tmp_path / f"agent-data-{speed}"
        agent = tradegraph("agent", "start", "--name", "twin", *window, "--speed", speed,
                           "--data-dir", str(data), "--quiet")  # fmt: skip
        assert agent.returncode == 0, agent.stderr
        pulse = json.loads((data / "agents" / "twin.json").read_text())
        if pulse["missed"] == 0:
            break

    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert pulse["missed"] == 0, "the machine was too slow for this speed: no parity to check"
    replayed = stored_traces(tmp_path / "eval-data", report["run_id"])
    woken = stored_traces(data, pulse["run_id"])
    assert len(woken) == len(replayed) == int(CANDLES)
    assert [t.ts for t in woken] == [t.ts for t in replayed]
    assert [(t.proposal.action, t.verdict, t.order is not None) for t in woken] == [
        (t.proposal.action, t.verdict, t.order is not None) for t in replayed
    ]
    verdicts = {t.verdict.value for t in woken}
    assert {"approved", "denied"} <= verdicts  # it traded and was refused: a real comparison
    assert [decision_digest(t) for t in woken] == [decision_digest(t) for t in replayed]
