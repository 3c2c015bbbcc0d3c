"""The chat over HTTP: how soon a turn's first server-sent event reaches a client.

    .venv/bin/python benchmarks/bench_chat_http.py [--requests 50] [--data-dir DIR]

Serves the real app (`api.server.app.create_app`) over a real `ChatEngine` on a fresh data
directory, under uvicorn on 127.0.0.1, and sends requests with an httpx client over the
socket, as a person would (a pause between two). First: a question for a model that streams
its first token at once (a stand-in answering without any network: what is timed is the
server, the engine and the graph up to the model's first token), timed from the request being
sent to its first event read, and to its last. Target: first event <= 100 ms. Then real slash
commands through the engine (`/help`, `/risk`), request to last event. Milliseconds, median
and p95.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.server.app import create_app
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from core.settings import Settings
from graphs.chat.model_port import ModelReply
from graphs.chat.service import ChatEngine

PAUSE_S = 0.1
"""Between two timed requests: a person reads the answer (and the engine writes its trace)."""
TARGET_FIRST_EVENT_MS = 100.0
ANSWER = "The book is flat: no position, the whole daily loss budget left."


class StreamsAtOnce:
    """A chat model whose tokens come as soon as it is asked (no network, no thinking)."""

    model = "streams-at-once"

    def step(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_token: Callable[[str], None],
    ) -> ModelReply:
        for word in ANSWER.split():
            on_token(word + " ")
        return ModelReply(
            text=ANSWER,
            tool_calls=(),
            input_tokens=50,
            output_tokens=15,
            cost_usd=0.0,
            stop_reason="end_turn",
        )


def timed_turn(client: httpx.Client, thread: str, text: str) -> tuple[float, float]:
    """Milliseconds from sending the request to its first event read, and to its last."""
    started = time.perf_counter()
    first = 0.0
    last_kind = ""
    with client.stream("POST", "/v1/chat", json={"thread": thread, "text": text}) as response:
        if response.status_code != 200:
            raise SystemExit(f"{text}: HTTP {response.status_code} {response.read().decode()}")
        for line in response.iter_lines():
            if line.startswith("event: "):
                first = first or (time.perf_counter() - started) * 1000
                last_kind = line.removeprefix("event: ")
    if last_kind != "answer":
        raise SystemExit(f"{text}: the turn ended with {last_kind or 'no event'}")
    return first, (time.perf_counter() - started) * 1000


def timed_turns(client: httpx.Client, text: str, requests: int) -> tuple[list[float], list[float]]:
    firsts, lasts = [], []
    for i in range(requests):
        time.sleep(PAUSE_S)
        first, last = timed_turn(client, f"bench-{i % 8}", text)
        firsts.append(first)
        lasts.append(last)
    return firsts, lasts


def line(name: str, times: list[float], target: float | None = None) -> str:
    median = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    verdict = (
        ""
        if target is None
        else f"  target {target:g} ms " + ("ok" if median <= target else "ABOVE TARGET")
    )
    return f"{name:<44} median {median:8.2f} ms  p95 {p95:8.2f} ms{verdict}"


def measure(root: Path, requests: int) -> dict[str, list[float]]:
    """The timings of `requests` requests of each kind, on the data directory `root`."""
    settings = Settings(data_dir=root, market="synthetic:7", memory={"embedding": "hashing"})
    timings: dict[str, list[float]] = {}
    with (
        ChatEngine(settings, model=StreamsAtOnce()) as engine,
        closing(open_api_keys(Storage(root))) as keys,
    ):
        token = keys.create("bench", "trader").token
        with (
            serving_in_thread(create_app(engine, keys)) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client,
        ):
            timed_turns(client, "how is my book?", 3)  # warm: imports, the stores' first writes
            firsts, lasts = timed_turns(client, "how is my book?", requests)
            timings["model turn: request -> first event"] = firsts
            timings["model turn: request -> last event"] = lasts
            for text in ("/help", "/risk"):
                timings[f"{text}: request -> last event"] = timed_turns(client, text, requests)[1]
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-chat-http-"))
    for name, times in measure(root, args.requests).items():
        print(line(name, times, TARGET_FIRST_EVENT_MS if "first event" in name else None))
    print(f"{args.requests} requests each over 127.0.0.1; data directory {root}")


if __name__ == "__main__":
    main()
