"""The writer process: it writes every batch before close returns, it never reports a batch
written that was not, and a replay killed while it writes resumes exactly."""

import os
import random
import signal

import pytest

from core.types import MarketInfo
from memory.audit import verify_run
from memory.session_stores import PROCESS_WRITER_MIN_CYCLES, open_memory
from memory.store import existing_collection, open_chroma
from memory.writer import InlineWriter, ProcessWriter
from tests.memory.test_traces import make_trace

INFO = MarketInfo(source="synthetic:1", symbol="SYN/USDT", timeframe="1h", synthetic=True)


def _open(data_dir, run_id="run-a", **options):
    return open_memory(
        data_dir, run_id, INFO, url=None, embedding="hashing", enabled=True, **options
    )


def _stored(data_dir, run_id="run-a"):
    client = open_chroma(data_dir)
    return verify_run(
        existing_collection(client, "traces", "test"),
        existing_collection(client, "trace_runs", "test"),
        run_id,
    )


def test_every_batch_is_in_the_store_when_close_returns(tmp_path):
    memory = _open(tmp_path, batch_size=16, writer="process")
    assert isinstance(memory.writer, ProcessWriter)

    for i in range(100):
        memory.traces.append(make_trace(i))
    memory.close()

    report = _stored(tmp_path)
    assert report.intact and report.traces == 100
    assert memory.traces.spooled == 0


def test_a_batch_the_writer_did_not_write_is_spooled_not_reported_written(tmp_path):
    memory = _open(tmp_path, batch_size=10, writer="process")
    for i in range(10):
        memory.traces.append(make_trace(i))  # the first batch, submitted
    memory.traces.flush()  # settles it: written
    writer = memory.writer
    assert isinstance(writer, ProcessWriter) and writer.pid is not None
    os.kill(writer.pid, signal.SIGKILL)  # the writer dies; the next batches cannot be written

    for i in range(10, 30):
        memory.traces.append(make_trace(i))
    memory.close()

    assert memory.traces.spooled == 20
    assert "writer process stopped" in (memory.traces.last_error or "")
    reopened = _open(tmp_path, "run-b", batch_size=10)  # the next run flushes the spool
    reopened.close()
    report = _stored(tmp_path)
    assert report.intact and report.traces == 30


def test_short_and_unbatched_runs_stay_inline_unless_a_process_is_asked_for(tmp_path):
    short = _open(tmp_path / "a", batch_size=256, writer="auto", cycles=500)
    unbatched = _open(tmp_path / "b", batch_size=1, writer="auto", cycles=10**6)
    live = _open(tmp_path / "d", batch_size=1, writer="process")
    long = _open(tmp_path / "c", batch_size=256, writer="auto", cycles=PROCESS_WRITER_MIN_CYCLES)

    assert isinstance(short.writer, InlineWriter)
    assert isinstance(unbatched.writer, InlineWriter)
    assert isinstance(live.writer, ProcessWriter)
    assert isinstance(long.writer, ProcessWriter)
    for memory in (short, unbatched, live, long):
        memory.close()


@pytest.mark.slow
def test_killed_while_its_writer_writes_a_replay_resumes_as_if_never_interrupted(tmp_path):
    """SIGKILL of the replay (its writer dies with it) at random points, each followed by
    --resume; the same orders, fills and final equity as a run never interrupted."""
    from tests.api.test_run_engine_cli import (
        _final_equity,
        _orders_and_fills,
        _runs,
        _start,
        _wait_for_cycles,
    )
    from tests.cli import tradegraph

    args = ["--market", "synthetic:21", "--bars", "600", "--analyst", "stress", "--quiet"]
    env = {"TRADEGRAPH_TRACE_BATCH_SIZE": "24", "TRADEGRAPH_MEMORY__WRITER": "process"}
    whole_dir, crash_dir = tmp_path / "whole", tmp_path / "crash"
    whole = tradegraph("run", *args, "--data-dir", str(whole_dir), env=env)
    assert whole.returncode == 0, whole.stderr
    points = sorted(random.Random(8).sample(range(30, 600), 6))
    process = _start("run", *args, "--data-dir", str(crash_dir), env=env)
    kills = 0
    for point in points:
        if not _wait_for_cycles(process, crash_dir, point):
            break
        process.kill()
        process.wait()
        kills += 1
        run_id = _runs(crash_dir)[-1][0]
        process = _start("run", "--resume", run_id, "--data-dir", str(crash_dir), env=env)
    process.communicate(timeout=600)
    run_id, whole_run = _runs(crash_dir)[-1][0], _runs(whole_dir)[-1][0]

    assert process.returncode == 0 and kills == len(points)
    assert _runs(crash_dir)[-1][1:] == ("finished", 600)
    assert _orders_and_fills(crash_dir, run_id) == _orders_and_fills(whole_dir, whole_run)
    verify = tradegraph("audit", "verify", "--run", run_id, "--data-dir", str(crash_dir))
    assert verify.returncode == 0 and "600 traces" in verify.stdout, verify.stdout
    assert _final_equity(crash_dir, run_id) == _final_equity(whole_dir, whole_run)
