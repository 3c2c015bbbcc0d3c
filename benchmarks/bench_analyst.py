"""The Claude analyst's request economics, measured on the SCRIPTED cassettes.

The cassettes in tests/cassettes/anthropic/scripted were not recorded from the live API: their
requests are the real SDK's (so request bytes and the cacheable prefix share are the analyst's
real requests), their answers are scripted from the Messages API reference (so how many
requests a decision takes, the token counts and the cost follow the scripted model, not
Claude). Every figure printed says so.

Prints, per cassette: requests, decisions that consulted the model, request bytes per decision,
and the share of those bytes inside the cacheable prefix (tool definitions and system prompt);
then replays the whole-run cassette through the real session (vcrpy, real SDK) and reports LLM
requests per decision and the replay's speed. Targets: prefix share >= 80%, requests per
decision <= 1.5.

    .venv/bin/python benchmarks/bench_analyst.py
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agents.reference_model import (  # noqa: E402
    RUN_ARGS,
    SCRIPTED_CASSETTES,
    SCRIPTED_RUN_CASSETTE,
)

SCRIPTED_NOTE = (
    "measured on SCRIPTED cassettes ({folder}): the requests are the real SDK's, the answers "
    "are scripted from the Messages API reference, not recorded from the live API"
)


def _bodies(path: Path) -> list[dict]:
    """The analyst's request bodies (the reflection step's lesson requests, which carry no
    tools, are not decisions and are left out)."""
    tape = yaml.safe_load(path.read_text())
    bodies = [json.loads(i["request"]["body"]) for i in tape["interactions"]]
    return [b for b in bodies if "tools" in b]


def _bytes(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def request_economics() -> tuple[int, int, int, int]:
    print(SCRIPTED_NOTE.format(folder=SCRIPTED_CASSETTES.relative_to(ROOT)))
    print(
        f"{'scripted cassette':<28}{'requests':>9}{'decisions':>10}{'bytes/decision':>16}"
        f"{'prefix':>8}"
    )
    all_requests = all_decisions = all_bytes = all_prefix = 0
    for path in sorted(SCRIPTED_CASSETTES.glob("*.yaml")):
        bodies = _bodies(path)
        decisions = sum(
            1  # a body identical to the one before it is the SDK retrying, not a new decision
            for i, b in enumerate(bodies)
            if len(b["messages"]) == 1 and (i == 0 or b != bodies[i - 1])
        )
        sent = sum(_bytes(b) for b in bodies)
        prefix = sum(_bytes(b["tools"]) + _bytes(b["system"]) for b in bodies)
        all_requests += len(bodies)
        all_decisions += decisions
        all_bytes += sent
        all_prefix += prefix
        print(
            f"{path.stem:<28}{len(bodies):>9}{decisions:>10}{sent / max(decisions, 1):>16,.0f}"
            f"{prefix / sent:>8.1%}"
        )
    print(
        f"{'all scripted cassettes':<28}{all_requests:>9}{all_decisions:>10}"
        f"{all_bytes / all_decisions:>16,.0f}{all_prefix / all_bytes:>8.1%}"
    )
    return all_requests, all_decisions, all_bytes, all_prefix


def replay_run() -> None:
    import anthropic

    from agents.cassettes import llm_cassette
    from core.market.source import MarketRequest, open_market
    from core.settings import load_settings
    from graphs.session import SessionPlan, run_session
    from tests.agents.reference_model import make_analyst

    info, series = open_market(MarketRequest(spec=RUN_ARGS[1], bars=int(RUN_ARGS[3])))
    client = anthropic.Anthropic(api_key="replay", base_url="https://api.anthropic.com")
    with tempfile.TemporaryDirectory() as tmp, llm_cassette(SCRIPTED_RUN_CASSETTE, "replay"):
        data = Path(tmp)
        plan = SessionPlan("bench", info, series, load_settings(data_dir=data), data)
        started = time.perf_counter()
        analyst = make_analyst(client)
        plan = dataclasses.replace(plan, reflector=analyst.reflector())
        summary = run_session(plan, analyst)
        wall = time.perf_counter() - started
    consulted = sum(1 for b in _bodies(SCRIPTED_RUN_CASSETTE) if len(b["messages"]) == 1)
    llm = summary.llm
    lessons = summary.memory.lessons_written if summary.memory else 0
    analyst_requests = llm.requests - lessons
    print(
        f"\nreplay of the scripted {SCRIPTED_RUN_CASSETTE.relative_to(ROOT)}: "
        f"{summary.decisions} decisions, {consulted} consulted the model, "
        f"{analyst_requests} analyst requests -> "
        f"{analyst_requests / consulted:.2f} per consulted decision "
        f"({analyst_requests / summary.decisions:.2f} per decision); "
        f"{lessons} lesson request(s) from the reflection step"
    )
    print(
        f"scripted token counts (estimates): input {llm.input_tokens:,}, cache read "
        f"{llm.cache_read_tokens:,}, cache write {llm.cache_creation_tokens:,}, output "
        f"{llm.output_tokens:,}; cost ${llm.cost_usd:.4f} "
        f"(${llm.cost_usd / consulted:.5f} per consulted decision, from the scripted counts)"
    )
    print(f"replay wall time {wall:.2f} s ({summary.decisions / wall:,.0f} decisions/s)")


if __name__ == "__main__":
    request_economics()
    replay_run()
