"""Thirty SIGKILLs at random points, runs in one data directory: no false verdict, no lost trace
(a vector index a kill tears is rebuilt by the next run: `memory.store_repair`)."""

import pytest

from benchmarks.kill_campaign import ENV, Launcher, kill_campaign, report
from tests import zygote

FORKED = Launcher(
    start=lambda args: zygote.popen(args, env=ENV, cwd=None),
    run=lambda *args, timeout=900: zygote.run(list(args), env=ENV, cwd=None, timeout=timeout),
)
"""Runs forked with their imports done: the kills land in the runs, not in Python's start-up."""


@pytest.mark.slow
def test_thirty_kills_leave_no_false_verdict_and_no_lost_trace(tmp_path):
    # forked runs decide from their first second, so five seconds reach as far into them as
    # nine did with Python's start-up first; 2,100 cycles still hand traces to the writer
    # process (from 2,000)
    figures = kill_campaign(
        tmp_path, kills=30, seed=11, launcher=FORKED, longest_s=5.0, bars=(200, 600, 2_100)
    )

    summary = report(figures)
    assert figures.kills == 30
    assert figures.false_verdicts == [], summary
    assert figures.failures == [], summary
    assert figures.runs > 0 and figures.lost_traces == 0, summary
    assert figures.traces >= figures.cycles, summary
    assert "vector indexes torn by a kill and rebuilt by the next run" in summary
