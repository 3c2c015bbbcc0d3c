"""Thirty SIGKILLs at random points, runs in one data directory: no false verdict, no lost trace."""

import pytest

from benchmarks.kill_campaign import kill_campaign, report


@pytest.mark.slow
def test_thirty_kills_leave_no_false_verdict_and_no_lost_trace(tmp_path):
    figures = kill_campaign(tmp_path, kills=30, seed=11)

    summary = report(figures)
    assert figures.kills == 30
    assert figures.false_verdicts == [], summary
    assert figures.failures == [], summary
    assert figures.runs > 0 and figures.lost_traces == 0, summary
    assert figures.traces >= figures.cycles, summary
