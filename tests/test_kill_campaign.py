"""Thirty SIGKILLs at random points, runs in one data directory: no false verdict, no lost trace."""

import pytest

from benchmarks.kill_campaign import kill_campaign, report


@pytest.mark.slow
@pytest.mark.xfail(
    strict=False,
    reason="known defect, issue 15 open: in about 1 campaign in 4 a SIGKILL while chromadb writes "
    "leaves its embedded HNSW index unreadable ('Failed to apply logs to the hnsw segment "
    "writer'), and every later run of that data directory stops (now with one line)",
)
def test_thirty_kills_leave_no_false_verdict_and_no_lost_trace(tmp_path):
    figures = kill_campaign(tmp_path, kills=30, seed=11)

    summary = report(figures)
    assert figures.kills == 30
    assert figures.false_verdicts == [], summary
    assert figures.failures == [], summary
    assert figures.runs > 0 and figures.lost_traces == 0, summary
    assert figures.traces >= figures.cycles, summary
