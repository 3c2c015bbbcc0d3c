"""The memory against a real Chroma server (`chroma run` on 127.0.0.1), through HttpClient."""

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from core.errors import UserError
from memory.audit import verify_run
from memory.embeddings import HashingEmbedder
from memory.lessons import Lesson, LessonMemory, load_lessons
from memory.situations import SituationMemory, load_situations
from memory.store import open_chroma, vector_collection
from memory.traces import TraceStore, load_run, trace_id
from tests.cli import tradegraph
from tests.memory.test_traces import make_trace

CHROMA = Path(sys.executable).parent / "chroma"
EMBEDDER = HashingEmbedder()


# One worker holds the whole module, so the module's server is started once per run;
# a server start and CLI runs against it make the module slow.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chroma-server")]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
START_ATTEMPTS = 5
START_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Keep reading the server's output (a full pipe would block it); None marks its end."""
    for line in stream:
        lines.put(ANSI.sub("", line))
    lines.put(None)


def _bound(server: subprocess.Popen, lines: queue.Queue, port: int, seen: list[str]) -> bool:
    """True once the server says it listens on 127.0.0.1:port, False if it exits first.

    Only our own server's line counts: another process that took the port (another worker's
    server included) would answer a heartbeat, but never prints this line for us.
    """
    listening = f"127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            return False
        seen.append(line)
        if "listening" in line and listening in line:
            return True
    server.kill()
    pytest.fail(f"the Chroma server did not start within {START_SECONDS} s:\n{''.join(seen)}")


def _start_server(
    path: Path, choose_port: Callable[[], int] = _free_port
) -> tuple[subprocess.Popen, int]:
    """`chroma run` on a free loopback port; if another process takes the port between our
    choice and the server's bind, the server exits saying so and we try a fresh port."""
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    seen: list[str] = []
    for _ in range(START_ATTEMPTS):
        port = choose_port()
        server = subprocess.Popen(
            [str(CHROMA), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(server.stdout, lines), daemon=True).start()
        if _bound(server, lines, port, seen):
            return server, port
        server.wait(timeout=10)
    pytest.fail(f"no free port for the Chroma server in {START_ATTEMPTS} tries:\n{''.join(seen)}")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """A real Chroma server on a free loopback port, its data in a temporary folder."""
    path = tmp_path_factory.mktemp("chroma-server")
    server, port = _start_server(path)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            open_chroma(path, url)
            break
        except UserError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the Chroma server on {url} did not answer within {START_SECONDS} s")
            time.sleep(0.3)
    yield url
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture
def client(chroma_url, tmp_path):
    return open_chroma(tmp_path, chroma_url)


def test_traces_chain_and_tampering_is_caught_on_the_server(client):
    run_id = f"srv-{time.time_ns()}"
    traces = vector_collection(client, "traces", embedding="hashing-256")
    runs = vector_collection(client, "trace_runs", embedding="none-1")
    store = TraceStore(traces, run_id, embedder=EMBEDDER, runs=runs, batch_size=3)
    for i in range(7):
        store.append(make_trace(i, run_id))
    store.flush()
    assert verify_run(traces, runs, run_id).intact

    tid = trace_id(run_id, 4)
    meta = traces.get(ids=[tid], include=["metadatas"])["metadatas"][0]
    traces.update(ids=[tid], metadatas=[{**meta, "action": "BUY"}])

    assert len(load_run(traces, run_id)) == 7
    report = verify_run(traces, runs, run_id)
    assert report.broken_seq == 4


def test_situations_persist_and_come_back_point_in_time_on_the_server(client):
    collection = vector_collection(client, f"situations-{time.time_ns()}")
    first = SituationMemory(collection, horizons=(2,))
    for bars, close in enumerate((100.0, 101.0, 102.0, 103.0), start=1):
        first.observe(bars=bars, close=close, low=close, now_ms=bars)
        first.remember(id=f"s{bars}", ts=bars, vector=[1.0, 0.0], close=close, bars=bars)
    first.flush()

    later = SituationMemory(collection, horizons=(2,), prior=load_situations(collection))
    later.observe(bars=1, close=100.0, low=100.0, now_ms=3)

    assert [r.id for r in later.recall([1.0, 0.0], k=5)] == ["s1"]


def test_lessons_persist_on_the_server(client):
    collection = vector_collection(client, f"lessons-{time.time_ns()}", embedding="hashing-256")
    memory = LessonMemory(collection, EMBEDDER)
    memory.add(
        Lesson(
            id="lesson:1",
            written_at=5,
            symbol="BTC/USDT",
            text="entries in a range at RSI 30 paid",
            author="summary",
            pnl_fraction=0.02,
            situation_vector=[0.1, 0.9],
        )
    )
    memory.flush()

    (loaded,) = load_lessons(collection)

    assert loaded.text == "entries in a range at RSI 30 paid"
    assert loaded.situation_vector == pytest.approx([0.1, 0.9])


def test_a_run_and_its_audit_go_to_the_server_named_by_the_environment(chroma_url, tmp_path):
    env = {"TRADEGRAPH_CHROMA_URL": chroma_url, "TRADEGRAPH_MEMORY__EMBEDDING": "hashing"}
    run = tradegraph(
        "run", "--market", "synthetic:3", "--bars", "300", "--data-dir", str(tmp_path),
        "--json", str(tmp_path / "out.json"), "--quiet", env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert chroma_url in run.stdout
    assert not (tmp_path / "chroma").exists()

    run_id = json.loads((tmp_path / "out.json").read_text())["run_id"]
    audit = tradegraph("audit", "verify", "--run", run_id, "--data-dir", str(tmp_path), env=env)

    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "chain intact" in audit.stdout


def test_the_server_moves_to_a_fresh_port_when_its_first_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = int(taken.getsockname()[1])
        offered = [taken_port]

        server, port = _start_server(tmp_path, lambda: offered.pop() if offered else _free_port())
        try:
            assert not offered, "the taken port should have been tried first"
            assert port != taken_port
            assert server.poll() is None
        finally:
            server.terminate()
            server.wait(timeout=10)
