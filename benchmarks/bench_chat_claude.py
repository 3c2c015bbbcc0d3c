"""The chat's Claude requests, measured on the SCRIPTED chat cassettes.

The cassettes in tests/cassettes/anthropic/chat were not recorded from the live API: their
requests are the real SDK's as `ClaudeChat` sends them (so the request bytes and what sits
behind a cache breakpoint are real), their answers are scripted from the Messages API reference
(so how many rounds a question takes follows the scripted model, not Claude).

Prints, per conversation: requests, request bytes, the share of bytes in the stable prefix
(tool definitions and system prompt, cached across threads), and, for the rounds after a
turn's first, the share of each request the previous one already wrote to the cache (the
conversation breakpoint's gain). Then replays each conversation through `ChatEngine` with the
real SDK (vcrpy) and times the turn from `send` to its last event, median of `--repeat`.

    .venv/bin/python benchmarks/bench_chat_claude.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.cassettes import cassette_config  # noqa: E402
from tests.graphs.chat.claude_conversations import (  # noqa: E402
    CHAT_CASSETTES,
    CONVERSATIONS,
    arrange,
    ask,
    replay_client,
)


def _bytes(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _bodies(path: Path) -> list[dict]:
    tape = yaml.safe_load(path.read_text())
    return [json.loads(i["request"]["body"]) for i in tape["interactions"]]


def request_economics() -> None:
    print(
        f"measured on SCRIPTED cassettes ({CHAT_CASSETTES.relative_to(ROOT)}): the requests are "
        "the real SDK's, the answers are scripted from the Messages API reference"
    )
    print(f"{'conversation':<20}{'requests':>9}{'bytes':>10}{'prefix':>8}{'cached from last':>18}")
    total = prefix_total = later = later_cached = 0
    for name in CONVERSATIONS:
        bodies = _bodies(CONVERSATIONS[name].cassette)
        sent = [_bytes(b) for b in bodies]
        prefix = sum(_bytes(b["tools"]) + _bytes(b["system"]) for b in bodies)
        cached = 0
        for before, body in itertools.pairwise(bodies):
            seen = len(before["messages"])
            cached += _bytes(body["tools"]) + _bytes(body["system"])
            cached += _bytes(body["messages"][:seen])
        rounds = sum(sent[1:])
        total, prefix_total = total + sum(sent), prefix_total + prefix
        later, later_cached = later + rounds, later_cached + cached
        share = f"{cached / rounds:.1%}" if rounds else "-"
        print(f"{name:<20}{len(bodies):>9}{sum(sent):>10,}{prefix / sum(sent):>8.1%}{share:>18}")
    print(
        f"{'all':<20}{'':>9}{total:>10,}{prefix_total / total:>8.1%}{later_cached / later:>18.1%}"
    )


def replay_turns(repeat: int) -> None:
    print(f"\nreplayed questions (real SDK, vcrpy), engine opened to closed, median of {repeat}:")
    for name, conversation in CONVERSATIONS.items():
        times = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                arrange(root, conversation)
                with cassette_config("none").use_cassette(str(conversation.cassette)):
                    started = time.perf_counter()
                    events = ask(root, conversation, replay_client())
                    times.append((time.perf_counter() - started) * 1000)
        print(f"  {name:<20}{statistics.median(times):>8.1f} ms  ({events[-1].kind})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    request_economics()
    replay_turns(args.repeat)
